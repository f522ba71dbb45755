// The admin page's only script: confirmation dialogs and copy buttons. Every control works
// without it (links lead to confirmation pages; values stay selectable).
/* global document, window, navigator, Element, setTimeout */
'use strict';

(function () {
  const dialog = document.getElementById('confirm-dialog');
  let opener = null;

  function openConfirm(trigger) {
    if (!dialog || typeof dialog.showModal !== 'function') return false;
    const form = dialog.querySelector('form');
    form.setAttribute('action', trigger.getAttribute('data-action'));
    dialog.querySelector('#confirm-message').textContent = trigger.getAttribute('data-confirm');
    const submit = dialog.querySelector('[data-confirm-submit]');
    submit.textContent = trigger.getAttribute('data-confirm-label') || 'Confirm';
    opener = trigger;
    dialog.showModal();
    // Cancel gets focus first: Enter on a destructive dialog should not destroy anything.
    dialog.querySelector('[data-close]').focus();
    return true;
  }

  document.addEventListener('click', function (event) {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const trigger = target.closest('[data-confirm]');
    if (trigger && openConfirm(trigger)) {
      event.preventDefault();
      return;
    }
    if (target.closest('[data-close]') && dialog) {
      dialog.close();
      return;
    }
    const copy = target.closest('[data-copy]');
    if (copy) copyValue(copy);
  });

  if (dialog) {
    dialog.addEventListener('close', function () {
      if (opener) opener.focus();
      opener = null;
    });
    // A click on the backdrop (outside the dialog box) cancels, like Escape.
    dialog.addEventListener('click', function (event) {
      if (event.target === dialog) dialog.close();
    });
  }

  function copyValue(button) {
    const source = document.getElementById(button.getAttribute('data-copy'));
    if (!source) return;
    const value = 'value' in source ? source.value : source.textContent;
    const status = document.getElementById(button.getAttribute('data-copy') + '-status');
    const done = function (ok) {
      if (status) status.textContent = ok ? 'Copied' : 'Select the text and copy it';
      setTimeout(function () { if (status) status.textContent = ''; }, 2500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(value).then(function () { done(true); }, function () { done(false); });
    } else {
      if (typeof source.select === 'function') source.select();
      let ok = false;
      try { ok = document.execCommand('copy'); } catch { ok = false; }
      done(ok);
    }
  }

  // Copy buttons need the script, so they are shown only when it runs.
  document.querySelectorAll('[data-copy][hidden]').forEach(function (b) { b.hidden = false; });
})();
