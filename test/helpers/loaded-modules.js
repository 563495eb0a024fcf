'use strict';
// Preloaded with `node -r` by tests: when the process exits, writes the packages it loaded
// (from require.cache) to $LOADED_MODULES_FILE, so a test can say what a command did not load.
const fs = require('node:fs');

process.on('exit', () => {
  const packages = new Set();
  for (const file of Object.keys(require.cache)) {
    const tail = file.split('/node_modules/').pop();
    if (tail === file) continue;
    const parts = tail.split('/');
    packages.add(parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]);
  }
  fs.writeFileSync(process.env.LOADED_MODULES_FILE, JSON.stringify([...packages].sort()));
});
