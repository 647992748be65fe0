/* The cxpulse console: polls the admin endpoint's /v1 routes and renders
 * segments, the recovery queue, alerts and one customer.
 *
 * Everything that comes from the data (ids, segments, roles, actions,
 * reasons) goes into the page as text nodes (textContent, createTextNode),
 * never as markup: a customer id "<script>...</script>" shows as those
 * characters. The page's policy (Content-Security-Policy, consolepage.c) allows
 * no inline script either, so markup that slipped in would not run.
 *
 * With http.token set, a /v1 route answers 401: the page then asks for the
 * token once, keeps it in sessionStorage (gone with the tab) and sends it
 * as "Authorization: Bearer" with every request. */
"use strict";

(function () {
  const POLL_MS = 3000;
  const TOKEN_KEY = "cxpulse.token";
  const SVG_NS = "http://www.w3.org/2000/svg";
  let token = sessionStorage.getItem(TOKEN_KEY) || "";
  let waitingForToken = false;
  let timer = null;
  let shownCustomer = "";
  const seenRoles = new Set();
  const seenSegments = new Set();

  class AuthNeeded extends Error {}

  function $(id) {
    return document.getElementById(id);
  }

  /* An element with a class and a text, both optional. */
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function td(tr, text, cls) {
    const c = el("td", cls, text);
    tr.appendChild(c);
    return c;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function isNum(v) {
    return typeof v === "number" && isFinite(v);
  }

  /* A priority as the alerts write it ("P1") whether it came so or as
   * the cases' number (1). */
  function prio(p) {
    return isNum(p) ? "P" + p : p === null || p === undefined ? "–" : String(p);
  }

  function fmtNum(v, dp) {
    return isNum(v) ? v.toFixed(dp) : "–";
  }

  /* An RFC 3339 string or epoch milliseconds as "YYYY-MM-DD HH:MM:SS"
   * (UTC, like the daemon's records); what it cannot read, as it came. */
  function fmtTime(v) {
    if (v === null || v === undefined || v === "") return "–";
    const d = new Date(v);
    if (isNaN(d.getTime())) return String(v);
    return d.toISOString().slice(0, 19).replace("T", " ");
  }

  /* Seconds as "2d 3h", "1h 05m", "4m 09s", "12s". */
  function fmtDuration(s) {
    if (!isNum(s) || s <= 0) return "";
    s = Math.floor(s);
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60), sec = s % 60;
    const two = (x) => (x < 10 ? "0" : "") + x;
    if (d > 0) return d + "d " + h + "h";
    if (h > 0) return h + "h " + two(m) + "m";
    if (m > 0) return m + "m " + two(sec) + "s";
    return sec + "s";
  }

  /* A window's length: "1m", "1h", "1d", else seconds. */
  function fmtLength(s) {
    if (!isNum(s)) return "–";
    if (s > 0 && s % 86400 === 0) return s / 86400 + "d";
    if (s > 0 && s % 3600 === 0) return s / 3600 + "h";
    if (s > 0 && s % 60 === 0) return s / 60 + "m";
    return s + "s";
  }

  /* A segment group ({"segment": "gold", "channel": "web"}) as
   * "segment=gold channel=web"; the all-customers group as "all". */
  function groupLabel(g) {
    if (g === null || g === undefined) return "all";
    if (typeof g !== "object") return String(g);
    const keys = Object.keys(g).sort();
    if (keys.length === 0) return "all";
    return keys.map((k) => k + "=" + (g[k] === null ? "unknown" : g[k])).join(" ");
  }

  function flagName(f) {
    if (f && typeof f === "object") return String(f.kind || f.type || f.flag || "flag");
    return String(f);
  }

  function setStatus(text, isError) {
    const s = $("status");
    s.textContent = text;
    s.className = isError ? "status error" : "status";
  }

  function askToken() {
    waitingForToken = true;
    $("token-form").hidden = false;
    setStatus("waiting for the access token", true);
    $("token").focus();
  }

  /* The route's JSON; an error (its status and, when the answer was JSON,
   * its body) for any other status than 200. */
  async function api(path) {
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    const r = await fetch(path, { headers: headers, cache: "no-store" });
    if (r.status === 401) throw new AuthNeeded(path);
    if (!r.ok) {
      const body = await r.json().catch(() => null);
      const why = body && typeof body.error === "string" ? ": " + body.error : "";
      const e = new Error(path + " answered " + r.status + why);
      e.status = r.status;
      e.body = body;
      throw e;
    }
    return r.json();
  }

  function query(params) {
    const q = new URLSearchParams();
    for (const k of Object.keys(params)) if (params[k] !== "") q.set(k, params[k]);
    const s = q.toString();
    return s ? "?" + s : "";
  }

  /* ---- Segments ---- */

  /* The CSAT of the trend's windows, oldest first, as a line 80x20. */
  function sparkline(trend) {
    const pts = (trend || []).filter((t) => t && isNum(t.csat));
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("class", "spark");
    svg.setAttribute("width", "80");
    svg.setAttribute("height", "20");
    svg.setAttribute("viewBox", "0 0 80 20");
    if (pts.length === 0) return svg;
    const vals = pts.map((t) => t.csat);
    let lo = Math.min.apply(null, vals), hi = Math.max.apply(null, vals);
    if (hi - lo < 1) { lo -= 0.5; hi += 0.5; }
    const x = (i) => (pts.length === 1 ? 40 : 2 + (i * 76) / (pts.length - 1));
    const y = (v) => 18 - ((v - lo) * 16) / (hi - lo);
    const line = document.createElementNS(SVG_NS, "polyline");
    line.setAttribute("points", vals.map((v, i) => x(i).toFixed(1) + "," + y(v).toFixed(1))
      .join(" "));
    svg.appendChild(line);
    const dot = document.createElementNS(SVG_NS, "circle");
    dot.setAttribute("cx", x(vals.length - 1).toFixed(1));
    dot.setAttribute("cy", y(vals[vals.length - 1]).toFixed(1));
    dot.setAttribute("r", "2");
    svg.appendChild(dot);
    const title = document.createElementNS(SVG_NS, "title");
    title.textContent = "CSAT, oldest first: " + vals.map((v) => v.toFixed(1)).join(", ");
    svg.appendChild(title);
    return svg;
  }

  /* The latest window of each group and window length: the route gives
   * that already, and a longer list is reduced to it here. */
  function latestPerGroup(list) {
    const by = new Map();
    for (const s of list) {
      const k = groupLabel(s.group) + "/" + s.window_s;
      const had = by.get(k);
      if (!had || String(s.window_start) > String(had.window_start)) by.set(k, s);
    }
    return Array.from(by.values()).sort((a, b) => {
      const ga = groupLabel(a.group), gb = groupLabel(b.group);
      return ga < gb ? -1 : ga > gb ? 1 : (a.window_s || 0) - (b.window_s || 0);
    });
  }

  function countOf(n) {
    if (isNum(n)) return n;
    if (n && typeof n === "object") return isNum(n.events) ? n.events : null;
    return null;
  }

  function lowNText(l) {
    if (Array.isArray(l)) return l.join(" ");
    if (l === true) return "yes";
    if (isNum(l)) return String(l);
    return "";
  }

  function renderSegments(data) {
    const body = $("segments-body");
    clear(body);
    const list = latestPerGroup((data && data.segments) || []);
    $("segments-empty").hidden = list.length > 0;
    for (const s of list) {
      const tr = el("tr", "segment");
      const flags = (s.flags || []).map(flagName);
      if (flags.some((f) => /drop|anomal|servqual/.test(f))) tr.className += " flagged";
      td(tr, groupLabel(s.group), "group");
      td(tr, fmtLength(s.window_s), "window");
      td(tr, fmtTime(s.window_end), "ends");
      td(tr, fmtNum(s.csat, 1), "num csat");
      td(tr, fmtNum(s.nps, 1), "num nps");
      td(tr, fmtNum(s.ces, 2), "num ces");
      td(tr, countOf(s.n) === null ? "–" : countOf(s.n), "num n");
      td(tr, lowNText(s.low_n), "low-n");
      td(tr, null, "trend").appendChild(sparkline(s.trend));
      const fc = td(tr, null, "flags");
      for (const f of flags) fc.appendChild(el("span", "flag", f));
      body.appendChild(tr);
      if (s.group && typeof s.group === "object" && s.group.segment) {
        seenSegments.add(String(s.group.segment));
      }
    }
  }

  /* ---- Recovery queue ---- */

  function customerLink(id) {
    if (id === null || id === undefined) return el("span", "muted", "–");
    const a = el("a", "customer-link", id);
    a.tabIndex = 0;
    a.addEventListener("click", () => lookup(String(id)));
    a.addEventListener("keydown", (e) => { if (e.key === "Enter") lookup(String(id)); });
    return a;
  }

  function list(items) {
    const ul = el("ul", "plain");
    for (const it of items || []) ul.appendChild(el("li", null, it));
    return ul;
  }

  /* How long an open case is past its next deadline: by the clock, as the
   * route's state=overdue judges it (a record's overdue_s is as of the
   * record, and a case waiting past its deadline gets no new one until it
   * escalates), or the record's figure when that is more. */
  function overdueSeconds(c) {
    let s = isNum(c.overdue_s) ? c.overdue_s : 0;
    const due = c.next_deadline ? Date.parse(c.next_deadline) : NaN;
    if (c.state !== "closed" && !isNaN(due)) s = Math.max(s, (Date.now() - due) / 1000);
    return s;
  }

  function renderQueue(data) {
    const body = $("queue-body");
    clear(body);
    const cases = (data && data.cases) || [];
    $("queue-empty").hidden = cases.length > 0;
    const total = data && isNum(data.total) ? data.total : cases.length;
    $("queue-total").textContent = "(" + cases.length + " of " + total + ")";
    for (const c of cases) {
      const late = overdueSeconds(c);
      const over = late > 0;
      const tr = el("tr", over ? "case overdue" : "case");
      tr.dataset.caseId = String(c.case_id);
      td(tr, fmtTime(c.next_deadline), "deadline");
      td(tr, over ? fmtDuration(late) : "", over ? "overdue late" : "overdue");
      td(tr, c.case_id, "case-id");
      td(tr, null, "customer").appendChild(customerLink(c.customer_id));
      td(tr, c.segment, "segment");
      td(tr, c.severity, "num severity");
      td(tr, prio(c.priority), "priority prio-" + prio(c.priority));
      td(tr, c.escalation_level, "num level");
      td(tr, c.step, "step");
      td(tr, c.role, "role");
      td(tr, null, "actions wrap").appendChild(list(c.actions));
      body.appendChild(tr);
      if (c.role) seenRoles.add(String(c.role));
      if (c.segment) seenSegments.add(String(c.segment));
    }
    fillDatalist("roles", seenRoles);
    fillDatalist("segments-list", seenSegments);
  }

  function fillDatalist(id, values) {
    const dl = $(id);
    if (dl.childNodes.length === values.size) return;
    clear(dl);
    for (const v of Array.from(values).sort()) {
      const o = document.createElement("option");
      o.value = v;
      dl.appendChild(o);
    }
  }

  function casesPath() {
    return "/v1/cases" + query({
      state: $("f-overdue").checked ? "overdue" : "open",
      role: $("f-role").value.trim(),
      segment: $("f-segment").value.trim(),
      limit: "100",
    });
  }

  /* ---- Alerts ---- */

  function reasonText(r) {
    if (!r || typeof r !== "object") return String(r);
    let t = String(r.factor);
    if (r.value !== null && r.value !== undefined) t += " = " + r.value;
    if (isNum(r.contribution)) t += " (" + r.contribution + ")";
    return t;
  }

  function renderAlerts(data) {
    const body = $("alerts-body");
    clear(body);
    const alerts = (data && data.alerts) || [];
    $("alerts-empty").hidden = alerts.length > 0;
    for (const a of alerts) {
      const tr = el("tr", "alert");
      td(tr, fmtTime(a.emitted_at || a.event_ts), "emitted");
      td(tr, prio(a.priority), "priority prio-" + prio(a.priority));
      td(tr, a.type, "type");
      td(tr, null, "customer").appendChild(customerLink(a.customer_id));
      td(tr, a.case_id === null ? "–" : a.case_id, "case-id");
      td(tr, null, "reasons wrap").appendChild(list((a.reasons || []).map(reasonText)));
      td(tr, null, "actions wrap").appendChild(list(a.actions));
      body.appendChild(tr);
    }
  }

  function alertsPath() {
    return "/v1/alerts" + query({
      type: $("f-type").value,
      priority: $("f-priority").value,
      limit: "50",
    });
  }

  /* ---- Customer ---- */

  /* name -> value pairs as a definition list; nested objects flattened
   * ("servqual_gap.tangibles"). */
  function figures(obj, prefix, dl) {
    dl = dl || el("dl", "figures");
    for (const k of Object.keys(obj || {})) {
      const v = obj[k];
      if (v && typeof v === "object" && !Array.isArray(v)) {
        figures(v, prefix + k + ".", dl);
        continue;
      }
      dl.appendChild(el("dt", null, prefix + k));
      dl.appendChild(el("dd", null, v === null ? "–" : Array.isArray(v) ? v.join(", ") : v));
    }
    return dl;
  }

  /* His case records: the list in the "cases" summary ({cohort, open,
   * overdue, records: [...]}), or "cases" itself when it is a list. */
  function caseHistory(d) {
    if (Array.isArray(d.cases)) return d.cases;
    const c = d.cases || {};
    return Array.isArray(c.records) ? c.records : [];
  }

  function caseSummary(d) {
    if (!d.cases || Array.isArray(d.cases)) return {};
    const s = {};
    for (const k of Object.keys(d.cases)) if (!Array.isArray(d.cases[k])) s[k] = d.cases[k];
    return s;
  }

  function renderCustomer(d) {
    const view = $("customer-view");
    clear(view);
    const head = el("p");
    head.appendChild(el("strong", "customer-id", d.customer_id));
    head.appendChild(document.createTextNode(
      " segment " + (d.segment || "–") + ", partition " + d.partition + ", as of " +
      fmtTime(d.as_of)));
    view.appendChild(head);

    const cards = el("div", "cards");
    const ind = el("div", "indicators");
    ind.appendChild(el("h3", null, "Indicators"));
    ind.appendChild(figures(d.indicators, ""));
    cards.appendChild(ind);

    const ch = el("div", "churn");
    ch.appendChild(el("h3", null, "Churn"));
    if (d.churn) {
      const p = el("p");
      p.appendChild(document.createTextNode("score " + fmtNum(d.churn.p, 3) + ", band "));
      p.appendChild(el("span", "band band-" + d.churn.band, d.churn.band));
      p.appendChild(document.createTextNode(", value at risk " +
        fmtNum(d.churn.value_at_risk, 2)));
      ch.appendChild(p);
      const t = el("table", "churn-reasons");
      const hr = el("tr");
      for (const h of ["reason", "value", "contribution"]) hr.appendChild(el("th", null, h));
      t.appendChild(hr);
      for (const r of d.churn.reasons || []) {
        const tr = el("tr", "reason");
        td(tr, r.factor);
        td(tr, fmtNum(r.value, 3), "num");
        td(tr, fmtNum(r.contribution, 3), "num");
        t.appendChild(tr);
      }
      ch.appendChild(t);
    } else {
      ch.appendChild(el("p", "empty", "churn scoring is off"));
    }
    cards.appendChild(ch);

    const cs = el("div", "cases");
    cs.appendChild(el("h3", null, "Cases"));
    cs.appendChild(figures(caseSummary(d), ""));
    cs.appendChild(caseRecords(caseHistory(d)));
    cards.appendChild(cs);
    view.appendChild(cards);
  }

  /* His case records, one line each: what, where, how far, how urgent. */
  function caseRecords(records) {
    const box = el("div", "case-records");
    if (records.length === 0) box.appendChild(el("p", "empty", "no case records held"));
    for (const c of records) {
      const has = (v) => v !== null && v !== undefined && v !== "";
      box.appendChild(el("p", "case", [c.case_id, c.kind, c.state, c.step, c.category,
        c.touchpoint, has(c.severity) ? "severity " + c.severity : null,
        has(c.priority) ? prio(c.priority) : null,
        has(c.escalation_level) ? "level " + c.escalation_level : null,
        has(c.opened_at) ? "opened " + fmtTime(c.opened_at) : null,
        has(c.next_deadline) ? "due " + fmtTime(c.next_deadline) : null,
        c.closed_reason].filter(has).join(" · ")));
    }
    return box;
  }

  async function refreshCustomer() {
    if (!shownCustomer) return;
    try {
      renderCustomer(await api("/v1/customers/" + encodeURIComponent(shownCustomer)));
    } catch (e) {
      if (e instanceof AuthNeeded) throw e;
      const view = $("customer-view");
      clear(view);
      if (e.status !== 404) {
        view.appendChild(el("p", "empty", String(e.message)));
        return;
      }
      /* Another instance holds him; this one may still know his cases. */
      view.appendChild(el("p", "empty",
        "Customer " + shownCustomer + " is not held by this instance."));
      if (e.body && e.body.cases) view.appendChild(caseRecords(caseHistory(e.body)));
    }
  }

  function lookup(id) {
    shownCustomer = id;
    $("customer-id").value = id;
    history.replaceState(null, "", "#customer=" + encodeURIComponent(id));
    refreshCustomer().catch(onError);
  }

  /* ---- Polling ---- */

  function onError(e) {
    if (e instanceof AuthNeeded) askToken();
    else setStatus("error: " + e.message, true);
  }

  async function refresh() {
    if (waitingForToken) return;
    const jobs = [
      api("/v1/segments").then(renderSegments),
      api(casesPath()).then(renderQueue),
      api(alertsPath()).then(renderAlerts),
      refreshCustomer(),
    ];
    const results = await Promise.allSettled(jobs);
    const failed = results.filter((r) => r.status === "rejected").map((r) => r.reason);
    if (failed.length === 0) {
      setStatus("updated " + new Date().toISOString().slice(11, 19) + " UTC", false);
    } else {
      onError(failed.find((e) => e instanceof AuthNeeded) || failed[0]);
    }
  }

  function schedule(now) {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(async () => {
      timer = null;
      await refresh();
      schedule(false);
    }, now ? 0 : POLL_MS);
  }

  function start() {
    $("token-form").addEventListener("submit", (e) => {
      e.preventDefault();
      token = $("token").value.trim();
      sessionStorage.setItem(TOKEN_KEY, token);
      $("token").value = "";
      $("token-form").hidden = true;
      waitingForToken = false;
      schedule(true);
    });
    $("customer-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const id = $("customer-id").value.trim();
      if (id) lookup(id);
    });
    for (const f of ["queue-filters", "alert-filters"]) {
      $(f).addEventListener("submit", (e) => { e.preventDefault(); schedule(true); });
      $(f).addEventListener("change", () => schedule(true));
    }
    const m = /^#customer=(.+)$/.exec(location.hash);
    if (m) {
      shownCustomer = decodeURIComponent(m[1]);
      $("customer-id").value = shownCustomer;
    }
    schedule(true);
  }

  start();
})();
