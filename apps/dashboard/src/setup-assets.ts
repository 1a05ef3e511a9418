// The setup pages' one script, served as a file (the Content-Security-Policy allows scripts from this
// origin only, never inline): validation as you type, and new rows in the mapping editor. The pages
// work without it (every button posts the form and the server answers with the same checks).
export const SETUP_SCRIPT = `'use strict';
(function () {
  var form = document.querySelector('form[data-validate]');
  if (!form) return;
  var url = form.getAttribute('data-validate');
  var summary = document.getElementById('live-issues');
  var timer = null;
  var seq = 0;

  function clear() {
    form.querySelectorAll('.invalid').forEach(function (el) {
      el.classList.remove('invalid');
      el.removeAttribute('aria-invalid');
      el.removeAttribute('title');
    });
    form.querySelectorAll('.row-issue').forEach(function (el) { el.textContent = ''; });
  }

  function show(result) {
    clear();
    var general = [];
    (result.issues || []).forEach(function (issue) {
      var input = null;
      if (issue.row >= 0 && issue.part) input = form.querySelector('[name="rows[' + issue.row + '][' + issue.part + ']"]');
      if (!input && issue.field) input = form.querySelector('[name="' + issue.field + '"]');
      if (input) {
        input.classList.add('invalid');
        input.setAttribute('aria-invalid', 'true');
        input.setAttribute('title', issue.message);
        var note = form.querySelector('[data-issue-for="' + (issue.row >= 0 ? 'row-' + issue.row : issue.field) + '"]');
        if (note) note.textContent = (note.textContent ? note.textContent + ' · ' : '') + issue.message;
      } else {
        general.push(issue.message);
      }
    });
    if (summary) {
      summary.textContent = '';
      summary.className = result.issues && result.issues.length ? 'error' : 'notice';
      if (!result.issues || !result.issues.length) summary.textContent = 'Valid.';
      else if (general.length) general.forEach(function (m) { var li = document.createElement('div'); li.textContent = m; summary.appendChild(li); });
      else summary.textContent = result.issues.length + ' problem' + (result.issues.length === 1 ? '' : 's') + ': see the highlighted fields.';
    }
    var yaml = document.getElementById('generated-yaml');
    if (yaml && typeof result.yaml === 'string') yaml.textContent = result.yaml;
  }

  function validate() {
    var mine = ++seq;
    var body = new URLSearchParams(new FormData(form));
    fetch(url, { method: 'POST', body: body, credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (res) { return res.json(); })
      .then(function (result) { if (mine === seq) show(result); })
      .catch(function () { /* the buttons still validate on the server */ });
  }

  form.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(validate, 300);
  });
  form.addEventListener('change', function () {
    clearTimeout(timer);
    timer = setTimeout(validate, 50);
  });

  var add = document.getElementById('add-row');
  var template = document.getElementById('row-template');
  var body = document.getElementById('rows');
  if (add && template && body) {
    add.addEventListener('click', function (e) {
      e.preventDefault();
      var n = body.querySelectorAll('tr.row').length;
      var html = template.innerHTML.split('__N__').join(String(n)).split('__NUM__').join(String(n + 1));
      body.insertAdjacentHTML('beforeend', html);
    });
  }
})();
`;
