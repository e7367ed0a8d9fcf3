// Kaleads review: keyboard shortcuts. The requests themselves are htmx's
// (the buttons carry hx-post); this file only presses them.
//   j / k  next / previous email       a  approve
//   e      edit (Ctrl+Enter saves)     r  reject (Ctrl+Enter confirms)
//   u      undo the last decision      ?  help      Esc  close a panel
(function () {
  'use strict';

  function $(sel) { return document.querySelector(sel); }
  function card() { return document.getElementById('card'); }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll('#queue-list [data-email-id]')); }

  function typing(t) {
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }

  function say(msg, kind) {
    var n = document.getElementById('notice');
    if (!n) return;
    n.textContent = msg;
    n.className = 'notice notice-' + (kind || 'error');
  }

  // markCurrent highlights the row of the email on the card.
  function markCurrent() {
    var c = card();
    var id = c ? c.getAttribute('data-email-id') : '';
    rows().forEach(function (r) {
      var on = id !== '' && r.getAttribute('data-email-id') === id;
      r.classList.toggle('current', on);
      if (on) {
        r.setAttribute('aria-current', 'true');
        reveal(r);
      } else {
        r.removeAttribute('aria-current');
      }
    });
  }

  // reveal scrolls the queue (not the page) to a row, when the queue is
  // a scrolling column (wide screens; on a phone it follows the card).
  function reveal(r) {
    var q = document.getElementById('queue');
    if (!q || q.scrollHeight <= q.clientHeight + 1) return;
    var qr = q.getBoundingClientRect(), rr = r.getBoundingClientRect();
    if (rr.top < qr.top) q.scrollTop -= qr.top - rr.top;
    else if (rr.bottom > qr.bottom) q.scrollTop += rr.bottom - qr.bottom;
  }

  // onSwap keeps a new card in sight (after a decision made at the bottom
  // of a long card, or on a phone).
  function onSwap() {
    var c = card();
    if (c && c.getBoundingClientRect().top < 0 && c.scrollIntoView) c.scrollIntoView({ block: 'start' });
  }

  function move(step) {
    var rs = rows();
    if (!rs.length) return;
    var c = card();
    var id = c ? c.getAttribute('data-email-id') : '';
    var i = -1;
    rs.forEach(function (r, j) { if (r.getAttribute('data-email-id') === id) i = j; });
    i = i < 0 ? 0 : Math.max(0, Math.min(rs.length - 1, i + step));
    var a = rs[i].querySelector('a');
    if (a && rs[i].getAttribute('data-email-id') !== id) a.click();
  }

  function press(sel) {
    var b = $(sel);
    if (b && !b.disabled) b.click();
  }

  function openPanel(id, focusSel) {
    var d = document.getElementById(id);
    if (!d) return;
    ['edit-panel', 'reject-panel'].forEach(function (other) {
      var o = document.getElementById(other);
      if (o && other !== id) o.open = false;
    });
    d.open = true;
    var f = d.querySelector(focusSel);
    if (f) {
      f.focus();
      if (f.setSelectionRange && f.value) f.setSelectionRange(f.value.length, f.value.length);
    }
  }

  function closePanels() {
    ['edit-panel', 'reject-panel'].forEach(function (id) {
      var d = document.getElementById(id);
      if (d) d.open = false;
    });
  }

  function help() {
    var d = document.getElementById('help');
    if (!d) return;
    if (d.open) d.close(); else if (d.showModal) d.showModal();
  }

  document.addEventListener('keydown', function (e) {
    var t = e.target;
    if (e.key === 'Escape') {
      var h = document.getElementById('help');
      if (h && h.open) h.close();
      if (typing(t)) t.blur();
      closePanels();
      return;
    }
    if ((e.ctrlKey || e.metaKey) && e.key === 'Enter' && typing(t) && t.form) {
      e.preventDefault();
      if (t.form.requestSubmit) t.form.requestSubmit(); else t.form.submit();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || typing(t) || e.isComposing) return;
    var dlg = document.getElementById('help');
    if (dlg && dlg.open && e.key !== '?') return;
    switch (e.key) {
      case 'j': move(1); break;
      case 'k': move(-1); break;
      case 'a': press('#card [data-action="approve"]'); break;
      case 'e': openPanel('edit-panel', 'textarea'); break;
      case 'r': openPanel('reject-panel', 'select'); break;
      case 'u': press('#undo'); break;
      case '?': help(); break;
      default: return;
    }
    e.preventDefault();
  });

  // The reject form's variable follows the reason (the reason's
  // data-variable: target_persona for a wrong persona…) until the reviewer
  // picks one.
  document.addEventListener('change', function (e) {
    var t = e.target;
    if (!t || !t.id) return;
    if (t.id === 'reject-variable') {
      t.removeAttribute('data-auto');
      return;
    }
    if (t.id !== 'reject-reason') return;
    var v = document.getElementById('reject-variable');
    if (!v || (v.value !== '' && !v.hasAttribute('data-auto'))) return;
    var o = t.options[t.selectedIndex];
    var name = o ? o.getAttribute('data-variable') : '';
    if (name) {
      v.value = name;
      v.setAttribute('data-auto', '');
    } else {
      v.value = '';
      v.removeAttribute('data-auto');
    }
  });

  document.addEventListener('click', function (e) {
    if (e.target && e.target.closest && e.target.closest('#help-button')) help();
  });

  document.addEventListener('htmx:afterSettle', markCurrent);
  document.addEventListener('htmx:afterSettle', onSwap);
  document.addEventListener('htmx:responseError', function (e) {
    var x = e.detail && e.detail.xhr;
    var text = x && x.responseText ? x.responseText.trim().slice(0, 200) : '';
    say((x ? 'Error ' + x.status + ': ' : 'Error: ') + (text || 'the request failed.'));
  });
  document.addEventListener('htmx:sendError', function () {
    say('Network error: nothing was saved. Check the connection and try again.');
  });
  document.addEventListener('DOMContentLoaded', markCurrent);
})();
