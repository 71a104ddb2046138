// Confirmation for destructive actions, on the page's one <dialog>.

const dialog = () => document.getElementById('confirm');

// confirmAction({title, text, ok}): resolves true when the user confirms, false otherwise
// (Cancel, Escape).
export function confirmAction({ title, text, ok = 'Confirm' }) {
  const d = dialog();
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = ok;
  d.returnValue = '';
  return new Promise((resolve) => {
    d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true });
    d.showModal();
    // The safe choice has the focus, so Enter cannot destroy anything by accident.
    document.getElementById('confirm-cancel').focus();
  });
}
