/** Cut to `max` characters, marking the cut with an ellipsis (or a custom marker). */
export function truncate(text: string, max: number, marker = '…'): string {
  if (text.length <= max) return text;
  return text.slice(0, Math.max(0, max - marker.length)) + marker;
}
