// hikeshi's own small script. Pages work without it; it only saves clicks.
document.addEventListener('DOMContentLoaded', () => {
  // The language switch returns to the page it was pressed on.
  for (const input of document.querySelectorAll('input.js-here')) {
    input.value = location.pathname + location.search;
  }
  // Selects that save on change (task status, user role).
  for (const select of document.querySelectorAll('select.js-autosubmit')) {
    select.addEventListener('change', () => select.form.requestSubmit());
  }
  // Irreversible actions ask first.
  for (const form of document.querySelectorAll('form.js-confirm')) {
    form.addEventListener('submit', (event) => {
      if (!window.confirm(form.dataset.confirm || '?')) event.preventDefault();
    });
  }
  for (const link of document.querySelectorAll('a.js-back')) {
    link.addEventListener('click', (event) => { event.preventDefault(); history.back(); });
  }
});
