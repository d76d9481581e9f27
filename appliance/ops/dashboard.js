// The ops dashboard: polls /api/v1/stats and fills the page. Shows counts,
// types and times only. Writes text with textContent (never HTML).
'use strict';
(function () {
  const REFRESH_MS = 5000;
  const TYPES = ['ORU^R01', 'ORM^O01', 'ADT^A01', 'ADT^A08'];
  let lastUpdate = null;
  let lastStats = null;

  // A viewer token may come in the URL fragment (never sent to the server):
  // /#token=... ; it is kept for this tab only.
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem('hl7d-token', decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname);
  }

  function $(id) { return document.getElementById(id); }
  function set(id, text) { const e = $(id); if (e) e.textContent = text; }
  function pct(x, digits) { return (x * 100).toFixed(digits) + ' %'; }
  function fmtInt(n) { return Number(n).toLocaleString('en-US'); }
  function ms(x) { return x < 10 ? x.toFixed(2) + ' ms' : x.toFixed(0) + ' ms'; }
  function ago(msSince) {
    const s = Math.max(0, Math.round(msSince / 1000));
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    if (s < 86400) return Math.floor(s / 3600) + ' h ago';
    return Math.floor(s / 86400) + ' d ago';
  }
  function duration(minutes) {
    if (minutes < 60) return minutes.toFixed(0) + ' min';
    return (minutes / 60).toFixed(1) + ' h';
  }

  function render(s) {
    const er = s.error_rate;
    set('error-rate', er.this_month.rate === null ? '–' : pct(er.this_month.rate, 1));
    if (er.change_points === null) {
      set('error-change', 'no data');
    } else {
      const c = er.change_points;
      set('error-change', (c > 0 ? '+' : c < 0 ? '−' : '±') + Math.abs(c).toFixed(1) + ' pts');
      $('error-change').className = c > 0 ? 'up' : c < 0 ? 'down' : '';
    }
    set('time-saved', duration(s.time_saved.minutes_per_day));
    set('time-saved-detail', fmtInt(s.time_saved.accepted_24h) + ' messages × ' +
        s.time_saved.minutes_per_message + ' min');
    set('uptime-30d', pct(s.uptime.d30.ratio, 2));
    set('uptime-6m', pct(s.uptime.m6.ratio, 2));
    set('restarts', s.uptime.d30.restarts + ' restarts, ' + s.uptime.d30.crashes + ' crashes');
    set('messages-per-day', fmtInt(s.throughput.messages_24h));
    const bars = $('daily');
    const max = Math.max(1, ...s.throughput.daily.map(d => d.messages));
    while (bars.firstChild) bars.removeChild(bars.firstChild);
    for (const d of s.throughput.daily) {
      const b = document.createElement('div');
      b.style.height = Math.round(100 * d.messages / max) + '%';
      b.title = d.day + ': ' + d.messages;
      bars.appendChild(b);
    }
    set('latency-avg', s.latency.count_24h ? ms(s.latency.avg_ms_24h) : '–');
    set('latency-p99', s.latency.count_24h ? ms(s.latency.p99_ms_24h) : '–');
    for (const row of document.querySelectorAll('#types tr[data-type]')) {
      row.querySelector('.count').textContent = fmtInt(s.messages_24h[row.dataset.type] || 0);
    }
    set('acks-sent', fmtInt(s.messages_24h.acks_sent));
    const d = s.delivery;
    if (!d.configured) {
      set('delivery-status', 'not configured');
    } else {
      set('delivery-status', d.ehr_reachable ? 'reachable' : 'unreachable');
    }
    let queued = 0;
    for (const k of Object.keys(s.queue)) if (k === 'PENDING' || k === 'RETRYING') queued += s.queue[k];
    set('queue-depth', fmtInt(d.configured ? d.queue_depth : queued));
    set('dead-letters', d.configured ? fmtInt(d.dead_letters) : '–');
    const st = $('status');
    st.textContent = s.ready ? 'ready' : 'not ready';
    st.className = 'pill ' + (s.ready ? 'ok' : 'bad');
  }

  // Relative times move every second without a new fetch.
  function tick() {
    if (lastUpdate !== null) set('updated', ago(Date.now() - lastUpdate));
    if (lastStats === null) return;
    const skew = Date.now() - lastStats.fetchedAt;
    for (const row of document.querySelectorAll('#types tr[data-type]')) {
      const t = lastStats.data.last_received_ms[row.dataset.type];
      row.querySelector('.last').textContent =
          t === null || t === undefined ? 'never' : ago(lastStats.data.generated_at_ms + skew - t);
    }
  }

  async function refresh() {
    const headers = {};
    const token = sessionStorage.getItem('hl7d-token');
    if (token) headers.Authorization = 'Bearer ' + token;
    try {
      const r = await fetch('/api/v1/stats', {headers, cache: 'no-store'});
      if (r.status === 401) {
        $('token-form').hidden = false;
        set('status', 'token needed');
        return;
      }
      if (!r.ok) throw new Error('HTTP ' + r.status);
      const data = await r.json();
      lastUpdate = Date.now();
      lastStats = {data, fetchedAt: lastUpdate};
      render(data);
      tick();
    } catch (e) {
      const st = $('status');
      st.textContent = 'no connection';
      st.className = 'pill bad';
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('token-form').addEventListener('submit', ev => {
      ev.preventDefault();
      sessionStorage.setItem('hl7d-token', $('token').value);
      $('token').value = '';
      $('token-form').hidden = true;
      refresh();
    });
    refresh();
    setInterval(refresh, REFRESH_MS);
    setInterval(tick, 1000);
  });
})();
