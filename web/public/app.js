// CertFleet console behaviour that htmx does not do on its own. Static (CSP script-src 'self'); no inline handlers.
(function () {
  'use strict';

  function showError(target, message) {
    if (!target) return;
    var p = document.createElement('p');
    p.className = 'error';
    p.setAttribute('role', 'alert');
    p.textContent = message;
    target.replaceChildren(p);
  }

  // A failed action (hx-post and friends) shows the server's error fragment in its hx-target instead of
  // being dropped silently (htmx swaps no 4xx/5xx by default). Polling GETs keep htmx's default.
  document.addEventListener('htmx:beforeSwap', function (event) {
    var detail = event.detail;
    if (detail.xhr.status < 400 || detail.requestConfig.verb === 'get') return;
    detail.shouldSwap = true;
    detail.isError = false;
  });

  // No answer at all (the console is down, the network dropped).
  document.addEventListener('htmx:sendError', function (event) {
    var detail = event.detail;
    if (detail.requestConfig && detail.requestConfig.verb === 'get') return;
    showError(detail.target, 'The console did not answer. Check the connection and try again.');
  });

  // "Pin this fingerprint": fills the target form's fingerprint field and chooses pinning.
  document.addEventListener('click', function (event) {
    var button = event.target instanceof Element ? event.target.closest('[data-pin-fingerprint]') : null;
    if (!button) return;
    var field = document.getElementById('f-trustFingerprint');
    var mode = document.querySelector('input[name="trustMode"][value="fingerprint"]');
    if (!field) return;
    field.value = button.getAttribute('data-pin-fingerprint');
    if (mode) mode.checked = true;
    button.textContent = 'Pinned: save the target to keep it';
    field.focus();
  });
})();
