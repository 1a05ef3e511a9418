// The setup pages' one script, served as a file (the Content-Security-Policy allows scripts from this
// origin only, never inline): validation as you type, new rows in the mapping editor, and its Field
// Nation lookups filling the selected row. The pages work without it (every button posts the form and
// the server answers with the same checks; the lookups then list the texts to copy into a row).
export const SETUP_SCRIPT = `'use strict';
(function () {
  var form = document.querySelector('form[data-validate]');
  if (!form) return;
  var url = form.getAttribute('data-validate');
  var summary = document.getElementById('live-issues');
  var timer = null;
  var seq = 0;

  // An options box a lookup filled grows to show it; again once the problems column has changed the widths.
  function fit(el) {
    el.style.height = 'auto';
    el.style.height = Math.min(el.scrollHeight + 4, 160) + 'px';
  }

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
    form.querySelectorAll('textarea[style*="height"]').forEach(fit);
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

  // The lookup picker's own inputs are not part of the mapping.
  var picker = document.getElementById('lookups');
  var outside = function (e) { return !(picker && picker.contains(e.target)); };
  form.addEventListener('input', function (e) {
    if (!outside(e)) return;
    clearTimeout(timer);
    timer = setTimeout(validate, 300);
  });
  form.addEventListener('change', function (e) {
    if (!outside(e)) return;
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

  // ── Field Nation lookups: list a catalogue, put an entry into the selected row ──
  var box = document.getElementById('lookup-box');
  var lookupButton = document.getElementById('lookup');
  var rowNote = document.getElementById('lookup-row');
  var selected = null;
  if (!picker || !box || !lookupButton || !body) return;

  function select(tr) {
    if (selected && selected !== tr) selected.classList.remove('selected');
    selected = tr;
    tr.classList.add('selected');
    var target = tr.querySelector('[name$="[target]"]');
    if (rowNote) rowNote.textContent = 'Row ' + (Number(tr.getAttribute('data-row')) + 1) + (target && target.value ? ' (' + target.value + ')' : ' (blank)') + ' is selected: a button below fills it.';
  }
  // The options box the cursor was last in: an entry goes where the cursor is (a value map's result…).
  var caret = null;
  body.addEventListener('focusin', function (e) {
    var tr = e.target.closest('tr.row');
    if (!tr) return;
    select(tr);
    caret = /\[options\]$/.test(e.target.name || '') ? e.target : null;
  });

  var lookupSeq = 0;
  function lookup() {
    var mine = ++lookupSeq;
    var q = new URLSearchParams({ catalogue: document.getElementById('lookup-catalogue').value, search: document.getElementById('lookup-search').value });
    box.setAttribute('aria-busy', 'true');
    fetch(picker.getAttribute('data-lookup') + '?' + q, { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (res) { return res.json(); })
      .then(function (result) { if (mine === lookupSeq) box.innerHTML = result.html; })
      .catch(function (err) { if (mine === lookupSeq) box.textContent = 'The lookup failed: ' + err.message; })
      .then(function () { box.removeAttribute('aria-busy'); });
  }
  lookupButton.addEventListener('click', function (e) {
    e.preventDefault();
    lookup();
  });
  document.getElementById('lookup-search').addEventListener('keydown', function (e) {
    if (e.key !== 'Enter') return;
    e.preventDefault();
    lookup();
  });

  function set(el, value) {
    el.value = value;
    // A one-line options box grows to show what was put in it.
    if (el.tagName === 'TEXTAREA') fit(el);
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }
  function blankRow() {
    var rows = body.querySelectorAll('tr.row');
    for (var i = 0; i < rows.length; i++) {
      var t = rows[i].querySelector('[name$="[target]"]');
      var o = rows[i].querySelector('[name$="[options]"]');
      var s = rows[i].querySelector('[name$="[source]"]');
      if (!t.value.trim() && !o.value.trim() && !s.value.trim()) return rows[i];
    }
    return null;
  }
  box.addEventListener('click', function (e) {
    var button = e.target.closest('button.lookup-use');
    if (!button) return;
    e.preventDefault();
    var table = button.closest('table');
    var text = button.getAttribute('data-text');
    var tr = selected || blankRow();
    if (!tr && add) {
      add.click();
      tr = body.querySelector('tr.row:last-child');
    }
    if (!tr) return;
    select(tr);
    var target = tr.querySelector('[name$="[target]"]');
    var action = tr.querySelector('[name$="[action]"]');
    var options = tr.querySelector('[name$="[options]"]');
    if (table.getAttribute('data-part') === 'target') {
      set(target, text);
      select(tr);
      tr.querySelector('[name$="[source]"]').focus();
      return;
    }
    var goal = table.getAttribute('data-target');
    if (!target.value.trim()) set(target, goal);
    if (caret === options && options.value.trim()) {
      // Where the cursor was in the options (a value map's result, a list's element).
      var start = options.selectionStart, end = options.selectionEnd;
      set(options, options.value.slice(0, start) + text + options.value.slice(end));
    } else if (!options.value.trim() || action.value === 'value') {
      // The row's value (replacing a static one); an empty value map or range map gets it as its first result.
      if (action.value !== 'map' && action.value !== 'range') action.value = 'value';
      var list = table.getAttribute('data-list') && target.value.trim() === goal && action.value === 'value';
      set(options, list ? '[{ id: ' + text + ', isPrimary: true }]' : text);
    } else {
      if (rowNote) rowNote.textContent = 'Put the cursor where the entry goes in row ' + (Number(tr.getAttribute('data-row')) + 1) + "'s options, then choose it again.";
      options.focus();
      return;
    }
    action.dispatchEvent(new Event('change', { bubbles: true }));
    select(tr);
    options.focus();
  });
})();
`;
