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
  // The menu: one group open at a time, closed by a click elsewhere or Escape. On a phone the
  // whole menu is one button, opened with every group showing.
  const groups = [...document.querySelectorAll('details.nav-group')];
  const menu = document.querySelector('details.nav-menu');
  const phone = window.matchMedia('(max-width: 760px)');
  const fitMenu = () => {
    if (!menu) return;
    menu.open = !phone.matches;
    for (const g of groups) g.open = phone.matches;
  };
  fitMenu();
  phone.addEventListener('change', fitMenu);
  for (const g of groups) {
    g.addEventListener('toggle', () => {
      if (g.open && !phone.matches) for (const other of groups) if (other !== g) other.open = false;
    });
  }
  document.addEventListener('click', (event) => {
    if (phone.matches) return;
    for (const g of groups) if (g.open && !g.contains(event.target)) g.open = false;
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !phone.matches) for (const g of groups) g.open = false;
  });
  for (const link of document.querySelectorAll('a.js-back')) {
    link.addEventListener('click', (event) => { event.preventDefault(); history.back(); });
  }
});
