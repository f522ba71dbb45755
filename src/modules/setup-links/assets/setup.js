/* global document, navigator, setTimeout, setInterval, fetch */
// Copy buttons and the directory's live status; loaded as a file so the CSP can forbid inline script.
for (const button of document.querySelectorAll('button.copy')) {
  button.addEventListener('click', async () => {
    const value = button.getAttribute('data-copy') || '';
    try {
      await navigator.clipboard.writeText(value);
      button.textContent = 'Copied';
    } catch {
      const field = document.createElement('textarea');
      field.value = value;
      document.body.appendChild(field);
      field.select();
      document.execCommand('copy');
      field.remove();
      button.textContent = 'Copied';
    }
    setTimeout(() => (button.textContent = 'Copy'), 1500);
  });
}

const live = document.getElementById('directory-status');
if (live) {
  const refresh = async () => {
    const res = await fetch('/setup/directory/status', { headers: { accept: 'application/json' }, credentials: 'same-origin' });
    if (res.ok) live.textContent = (await res.json()).summary;
  };
  setInterval(() => void refresh(), 5000);
}
