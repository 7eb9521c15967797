// The alert queue refreshes itself: the server says "changed" over Server-Sent Events and the
// rows are fetched again with the page's own filters. Ticked boxes stay ticked.
document.addEventListener('DOMContentLoaded', () => {
  const body = document.getElementById('alert-rows');
  const state = document.getElementById('alerts-live-state');
  const empty = document.getElementById('alerts-empty');
  if (!body || !window.EventSource) return;
  const all = document.getElementById('alert-check-all');
  if (all) {
    all.addEventListener('change', () => {
      for (const box of body.querySelectorAll('input.alert-check')) box.checked = all.checked;
    });
  }
  let busy = false;
  const refresh = async () => {
    if (busy) return;
    busy = true;
    try {
      const ticked = new Set([...body.querySelectorAll('input.alert-check:checked')].map((b) => b.value));
      const response = await fetch('/alerts/rows' + location.search, { credentials: 'same-origin' });
      if (response.ok) {
        body.innerHTML = await response.text();
        for (const box of body.querySelectorAll('input.alert-check')) box.checked = ticked.has(box.value);
        if (empty) empty.hidden = body.querySelector('tr') !== null;
        body.dataset.refreshed = String(Date.now());
      }
    } finally {
      busy = false;
    }
  };
  const source = new EventSource('/api/v1/alerts/stream');
  source.addEventListener('open', () => { state.textContent = state.dataset.on; state.classList.add('live'); });
  source.addEventListener('error', () => { state.textContent = state.dataset.off; state.classList.remove('live'); });
  source.addEventListener('changed', refresh);
});
