/** Cut to `max` characters, marking the cut with an ellipsis (or a custom marker). */
export function truncate(text: string, max: number, marker = '…'): string {
  if (text.length <= max) return text;
  return text.slice(0, Math.max(0, max - marker.length)) + marker;
}

/** `1 node`, `3 nodes`: English plurals by adding an s, which is all the messages here need. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
