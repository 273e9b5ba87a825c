/*
 * Tocsin live board. Hand-written, no build step.
 *
 * The page arrives with a snapshot of the tenant's open alerts, devices and deliveries,
 * and the id of the newest event at the time it was taken. From then on the event
 * stream keeps it current: every event carries the whole alert, device or delivery, so
 * applying one is an upsert, and applying one twice changes nothing. The stream needs a
 * single-use ticket per connection, so this script reconnects itself (new ticket, same
 * Last-Event-ID) instead of leaving it to EventSource.
 *
 * Everything that came from the server is put in the page with textContent only.
 */
(() => {
  "use strict";

  const config = JSON.parse(document.getElementById("board-config").textContent);
  const snapshot = JSON.parse(document.getElementById("board-snapshot").textContent);

  const EVENT_TYPES = ["alert.raised", "alert.updated", "notification.updated", "device.updated"];
  const SEVERITY_RANK = { critical: 3, high: 2, warning: 1, info: 0 };
  const CHANNEL_KINDS = { sms: "SMS", slack: "Slack", email: "Email", webhook: "Webhook" };
  const RESOLVED_LINGER_MS = 4000;
  const MUTE_KEY = "tocsin.board.muted";
  const FILTER_KEY = `tocsin.board.filters.${config.tenant}`;
  const NO_SITE = "";

  const board = document.getElementById("board");
  const banner = document.getElementById("banner");
  const pill = document.getElementById("connection");
  const muteButton = document.getElementById("mute");
  const siteFilter = document.getElementById("filter-site");
  const kindFilter = document.getElementById("filter-kind");
  const summary = document.getElementById("summary");

  const state = {
    sites: new Map(snapshot.sites.map((site) => [site.id, site])),
    kinds: new Map(snapshot.kinds.map((kind) => [kind.value, kind.label])),
    alerts: new Map(),
    devices: new Map(),
    notifications: new Map(), // alert id -> Map(notification id -> notification)
    lastEventId: config.resumeFrom || "",
    received: 0,
    focus: snapshot.focus || null, // the alert a page's link named: shown whatever its state
  };
  const sections = new Map(); // site id -> section element
  const alertTiles = new Map();
  const deviceTiles = new Map();

  // --- small helpers -----------------------------------------------------------------------

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function time(iso) {
    return iso ? Date.parse(iso) : 0;
  }

  function ago(iso) {
    const seconds = Math.max(0, (Date.now() - time(iso)) / 1000);
    if (seconds < 60) return `${Math.floor(seconds)} s`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
    return `${Math.floor(seconds / 86400)} d`;
  }

  function localTime(iso, siteId) {
    const site = state.sites.get(siteId);
    try {
      return new Date(iso).toLocaleString([], site && site.timezone ? { timeZone: site.timezone } : {});
    } catch (error) {
      return new Date(iso).toLocaleString();
    }
  }

  function ageNode(iso, siteId, prefix = "", suffix = "") {
    return el("time", { class: "age", datetime: iso, title: localTime(iso, siteId), "data-prefix": prefix,
                        "data-suffix": suffix, text: `${prefix}${ago(iso)}${suffix}` });
  }

  function readFilters() {
    try {
      return JSON.parse(localStorage.getItem(FILTER_KEY)) || {};
    } catch (error) {
      return {};
    }
  }

  // --- state ---------------------------------------------------------------------------------

  function rememberSite(id, name) {
    if (id && !state.sites.has(id)) {
      state.sites.set(id, { id, name: name || id, kind: "", location_id: "", timezone: "" });
      fillSiteFilter();
    }
  }

  /* Returns the previous version, or null when the incoming one is older than what we show
     (a replayed event after the API's answer to our own acknowledgement, for instance). */
  function upsertAlert(alert) {
    const previous = state.alerts.get(alert.id) || {};
    if (previous.updated_at && time(previous.updated_at) > time(alert.updated_at)) return null;
    const { timeline, ...fields } = alert;
    state.alerts.set(alert.id, fields);
    rememberSite(alert.site, alert.site_name);
    renderAlert(fields);
    if (fields.status === "resolved" && alert.id !== state.focus) {
      setTimeout(() => {
        const current = state.alerts.get(alert.id);
        if (current && current.status === "resolved") forgetAlert(alert.id);
      }, RESOLVED_LINGER_MS);
    }
    return previous;
  }

  function forgetAlert(id) {
    state.alerts.delete(id);
    state.notifications.delete(id);
    const tile = alertTiles.get(id);
    if (tile) {
      const node = tile.closest(".site");
      tile.remove();
      if (node) showEmpty(node);
    }
    alertTiles.delete(id);
    refreshSummary();
  }

  function upsertNotification(notification) {
    if (!state.notifications.has(notification.alert)) state.notifications.set(notification.alert, new Map());
    state.notifications.get(notification.alert).set(notification.id, notification);
    const alert = state.alerts.get(notification.alert);
    if (alert) renderAlert(alert);
  }

  function upsertDevice(device) {
    rememberSite(device.site, device.site_name);
    if (device.status === "revoked") {
      state.devices.delete(device.id);
      const tile = deviceTiles.get(device.id);
      if (tile) tile.remove();
      deviceTiles.delete(device.id);
      return;
    }
    state.devices.set(device.id, device);
    renderDevice(device);
  }

  function isNewCritical(alert, previous) {
    return alert.status === "triggered" && alert.severity === "critical"
      && (previous.status !== "triggered" || previous.severity !== "critical");
  }

  /* A device's own report is proof of life, but ingest announces devices only when their
     state changes; keep its tile's "last seen" honest from the alert it just raised. */
  function noteDeviceReport(alert) {
    const device = state.devices.get(alert.device);
    if (alert.source !== "device" || !device || time(device.last_seen_at) >= time(alert.last_seen_at)) return;
    upsertDevice({ ...device, last_seen_at: alert.last_seen_at,
                   state: device.state === "never_seen" ? "online" : device.state });
  }

  function apply(event) {
    const data = event.data || {};
    if (event.type === "alert.raised" || event.type === "alert.updated") {
      const previous = upsertAlert(data.alert);
      if (previous && isNewCritical(data.alert, previous)) announceCritical(data.alert.id);
      noteDeviceReport(data.alert);
    } else if (event.type === "notification.updated") {
      upsertNotification(data.notification);
    } else if (event.type === "device.updated") {
      upsertDevice(data.device);
    }
    refreshSummary();
  }

  // --- rendering -----------------------------------------------------------------------------

  function section(siteId) {
    const id = siteId || NO_SITE;
    if (sections.has(id)) return sections.get(id);
    const site = state.sites.get(id);
    const heading = el("h2", { text: site ? site.name : "Not tied to a site" });
    if (site && site.location_id) heading.append(el("small", { text: ` ${site.kind} · ${site.location_id}` }));
    const node = el("section", { class: "site", "data-site-id": id }, heading,
                    el("div", { class: "alerts" }), el("p", { class: "empty", text: "No open alerts." }),
                    el("div", { class: "devices" }));
    sections.set(id, node);
    const names = [...sections.keys()].filter((key) => key !== NO_SITE)
      .sort((a, b) => (state.sites.get(a)?.name || a).localeCompare(state.sites.get(b)?.name || b));
    const order = [...names, ...(sections.has(NO_SITE) ? [NO_SITE] : [])];
    const next = order[order.indexOf(id) + 1];
    board.insertBefore(node, next !== undefined ? sections.get(next) : null);
    node.hidden = Boolean(siteFilter.value) && id !== siteFilter.value;
    return node;
  }

  function alertOrder(a, b) {
    const rank = (alert) => (alert.status === "triggered" ? 0 : alert.status === "acknowledged" ? 1 : 2);
    return rank(a) - rank(b) || SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity]
      || time(b.last_seen_at) - time(a.last_seen_at);
  }

  function notifiedList(alertId) {
    const rows = [...(state.notifications.get(alertId) || new Map()).values()]
      .sort((a, b) => time(a.created_at) - time(b.created_at));
    if (!rows.length) return null;
    return el("ul", { class: "notified", "aria-label": "Notified" }, ...rows.map((row) => {
      const purpose = row.purpose === "page" ? (row.step ? ` (step ${row.step + 1})` : "") : ` (${row.purpose} notice)`;
      return el("li", { class: `delivery delivery-${row.status}`,
                        text: `${CHANNEL_KINDS[row.channel_kind] || row.channel_kind} · ${row.channel_name}${purpose}: ${row.status}` });
    }));
  }

  function alertInfo(alert) {
    const header = el("header", {},
      el("span", { class: "sev", text: alert.severity }),
      el("span", { class: "kind", text: state.kinds.get(alert.kind) || alert.kind }),
      alert.location_label ? el("span", { class: "place", title: "Where: the device's place and site",
                                          text: [alert.location_label, alert.site_name].filter(Boolean).join(", ") })
        : null,
      el("span", { class: "status", text: alert.status }),
      alert.count > 1 ? el("span", { class: "count", title: "Reports of this problem", text: `×${alert.count}` }) : null);
    const meta = el("p", { class: "meta" },
      alert.device_name ? el("span", { class: "alert-device", text: alert.device_name }) : null,
      ageNode(alert.first_seen_at, alert.site, "", " ago"));
    const handled = [];
    if (alert.acknowledged_at) {
      handled.push(el("p", { class: "handled" }, `Acknowledged by ${alert.acknowledged_by_label || "someone"} `,
                      ageNode(alert.acknowledged_at, alert.site, "", " ago")));
    }
    if (alert.resolved_at) {
      handled.push(el("p", { class: "handled" }, `Resolved by ${alert.resolved_by_label || "someone"}`));
    }
    const badges = [];
    if (alert.unnotified_reason) {
      badges.push(el("p", { class: "badge badge-unnotified", title: alert.unnotified_reason,
                            text: `Nobody was notified: ${alert.unnotified_reason}` }));
    }
    if (alert.in_maintenance) {
      badges.push(el("p", { class: "badge badge-maintenance", title: "Recorded; pages when the window ends if still open",
                            text: `In maintenance until ${new Date(alert.maintenance_until).toLocaleString()}` }));
    }
    if (alert.snoozed) {
      badges.push(el("p", { class: "badge badge-snoozed",
                            text: `Snoozed until ${new Date(alert.snoozed_until).toLocaleString()}` }));
    }
    if (alert.is_group) badges.push(el("p", { class: "badge badge-outage", text: "Outage: stands for the alerts below it" }));
    if (alert.group) badges.push(el("p", { class: "badge badge-member", text: "Paged through its outage alert" }));
    return el("div", { class: "alert-info" }, header, ...badges,
              el("p", { class: "summary-text", text: alert.summary }), meta, notifiedList(alert.id), ...handled);
  }

  function alertActions() {
    const form = el("form", { class: "note-form", hidden: true },
      el("input", { name: "note", maxlength: 2000, placeholder: "Note (optional)", "aria-label": "Note" }),
      el("button", { type: "submit", class: "confirm", text: "Confirm" }),
      el("button", { type: "button", class: "cancel", text: "Cancel" }));
    return el("div", { class: "alert-actions" },
      el("button", { type: "button", "data-action": "acknowledge", text: "Acknowledge" }),
      el("button", { type: "button", "data-action": "resolve", text: "Resolve" }),
      el("button", { type: "button", "data-snooze": "30", class: "snooze", text: "Snooze 30 min" }),
      form, el("p", { class: "error", role: "alert", hidden: true }));
  }

  function renderAlert(alert) {
    let tile = alertTiles.get(alert.id);
    if (!tile) {
      tile = el("article", { class: "alert", "data-alert-id": alert.id }, el("div", { class: "alert-info" }));
      if (config.canAct) tile.append(alertActions());
      alertTiles.set(alert.id, tile);
    }
    tile.className = `alert sev-${alert.severity} status-${alert.status}${alert.id === state.focus ? " focused" : ""}`;
    tile.dataset.kind = alert.kind;
    tile.dataset.status = alert.status;
    tile.querySelector(".alert-info").replaceWith(alertInfo(alert));
    const actions = tile.querySelector(".alert-actions");
    if (actions) {
      actions.querySelector('[data-action="acknowledge"]').hidden = alert.status !== "triggered";
      actions.querySelector("[data-snooze]").hidden = alert.status !== "triggered";
      actions.querySelector('[data-action="resolve"]').hidden = alert.status === "resolved";
      if (alert.status === "resolved") actions.querySelector(".note-form").hidden = true;
    }
    const container = section(alert.site).querySelector(".alerts");
    const siblings = [...container.children].filter((node) => node !== tile);
    const next = siblings.find((node) => alertOrder(alert, state.alerts.get(node.dataset.alertId)) < 0);
    if (tile.parentNode !== container || tile.nextSibling !== (next || null)) {
      container.insertBefore(tile, next || null);
    }
    tile.hidden = Boolean(kindFilter.value) && alert.kind !== kindFilter.value;
    showEmpty(container.parentNode);
  }

  function renderDevice(device) {
    let tile = deviceTiles.get(device.id);
    if (!tile) {
      tile = el("div", { class: "device", "data-device-id": device.id });
      deviceTiles.set(device.id, tile);
    }
    tile.className = `device state-${device.state}`;
    tile.dataset.state = device.state;
    const battery = device.battery_level === null || device.battery_level === undefined ? null
      : el("span", { class: device.battery_level < 20 ? "battery low" : "battery",
                     text: `${device.battery_level}%${device.battery_charging ? " charging" : ""}` });
    const seen = device.last_seen_at ? ageNode(device.last_seen_at, device.site, "seen ", " ago")
      : el("span", { class: "age", text: "never seen" });
    // The device page (history charts) is a plain link: the tile stays a tile.
    const history = config.devicePageUrl ? el("a", { class: "device-link", text: "history",
      href: config.devicePageUrl.replace("__id__", encodeURIComponent(device.id)) }) : null;
    tile.replaceChildren(...[el("strong", { text: device.location_label || device.name || device.hardware_id }),
                             el("span", { class: "state", text: device.state.replace("_", " ") }), battery, seen,
                             backlogNode(device), flushControl(device), history]
      .filter(Boolean));
    const container = section(device.site).querySelector(".devices");
    if (tile.parentNode !== container) container.append(tile);
  }

  /* The agent's outbox, from its newest heartbeat: shown once anything waits or was refused. */
  function backlogNode(device) {
    if (!device.outbox_size && !device.outbox_parked) return null;
    const minutes = Math.floor((device.outbox_oldest_age_s || 0) / 60);
    const old = (device.outbox_oldest_age_s || 0) >= 3600;
    return el("span", { class: old ? "backlog old" : "backlog", "data-backlog": device.outbox_size || 0,
                        text: `${device.outbox_size || 0} unsent, oldest ${minutes} min` +
                              (device.outbox_parked ? `, ${device.outbox_parked} parked` : "") });
  }

  // --- device commands -------------------------------------------------------------------------

  const commandStatus = new Map();  // device id → what the last command from this page says

  function flushControl(device) {
    if (!config.canAct || device.status !== "active") return null;
    return el("span", { class: "command" },
              el("button", { type: "button", class: "flush", "data-command": "flush", text: "Flush now" }),
              el("span", { class: "command-status", role: "status", text: commandStatus.get(device.id) || "" }));
  }

  function showCommand(deviceId, text) {
    commandStatus.set(deviceId, text);
    const node = deviceTiles.get(deviceId)?.querySelector(".command-status");
    if (node) node.textContent = text;
  }

  async function commandRequest(url, options = {}) {
    const response = await fetch(url, { credentials: "same-origin", ...options,
      headers: { "Content-Type": "application/json", Accept: "application/json",
                 "X-CSRFToken": config.csrfToken, "X-Tenant": config.tenant } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error((body.error && body.error.message) || `The server said ${response.status}.`);
    return body;
  }

  /* Send, then follow the command until the device answers or it expires. */
  async function sendCommand(deviceId, name) {
    showCommand(deviceId, `${name}: sending…`);
    try {
      const [command] = await commandRequest(config.commandsUrl, { method: "POST",
                                                                   body: JSON.stringify({ name, device: deviceId }) });
      for (let polls = 0; polls < 120; polls += 1) {
        const current = await commandRequest(`${config.commandsUrl}${encodeURIComponent(command.id)}/`);
        showCommand(deviceId, `${name}: ${current.status}`);
        if (!["pending", "delivered"].includes(current.status)) return;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    } catch (failure) {
      showCommand(deviceId, `${name}: ${failure.message || "could not reach the server"}`);
    }
  }

  board.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-command]");
    const tile = button && button.closest(".device");
    if (tile) sendCommand(tile.dataset.deviceId, button.dataset.command);
  });

  function refreshAges() {
    for (const node of board.querySelectorAll("time.age")) {
      node.textContent = `${node.dataset.prefix || ""}${ago(node.getAttribute("datetime"))}${node.dataset.suffix || ""}`;
    }
  }

  function refreshSummary() {
    const open = [...state.alerts.values()].filter((alert) => alert.status !== "resolved");
    const waiting = open.filter((alert) => alert.status === "triggered");
    const critical = waiting.filter((alert) => alert.severity === "critical").length;
    summary.textContent = `${open.length} open · ${waiting.length} need attention (${critical} critical)`;
    document.title = `${waiting.length ? `(${waiting.length}) ` : ""}Live board · ${snapshot.tenant.name} · Tocsin`;
  }

  // --- filters -------------------------------------------------------------------------------

  function fillSiteFilter() {
    const chosen = siteFilter.value || readFilters().site || "";
    siteFilter.replaceChildren(el("option", { value: "", text: "All sites" }),
      ...[...state.sites.values()].sort((a, b) => a.name.localeCompare(b.name))
        .map((site) => el("option", { value: site.id, text: site.name })));
    siteFilter.value = state.sites.has(chosen) ? chosen : "";
  }

  function showEmpty(node) {
    node.querySelector(".empty").hidden = [...node.querySelectorAll(".alert")].some((tile) => !tile.hidden);
  }

  function applyFilters() {
    const site = siteFilter.value;
    const kind = kindFilter.value;
    for (const [id, node] of sections) {
      node.hidden = Boolean(site) && id !== site;
      for (const tile of node.querySelectorAll(".alert")) tile.hidden = Boolean(kind) && tile.dataset.kind !== kind;
      showEmpty(node);
    }
  }

  function saveFilters() {
    localStorage.setItem(FILTER_KEY, JSON.stringify({ site: siteFilter.value, kind: kindFilter.value }));
    applyFilters();
  }

  // --- sound ---------------------------------------------------------------------------------

  let audio = null;

  function unlockAudio() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!audio && Context) audio = new Context();
    if (audio && audio.state === "suspended") audio.resume();
  }

  function muted() {
    return localStorage.getItem(MUTE_KEY) === "1";
  }

  function showMute() {
    muteButton.setAttribute("aria-pressed", String(muted()));
    muteButton.textContent = muted() ? "Sound off" : "Sound on";
  }

  function chime() {
    if (muted() || !audio || audio.state !== "running") return;
    const start = audio.currentTime;
    [880, 660, 880].forEach((frequency, index) => {
      const at = start + index * 0.25;
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.type = "square";
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.2, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.2);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(at);
      oscillator.stop(at + 0.22);
    });
  }

  function announceCritical(id) {
    chime();
    const tile = alertTiles.get(id);
    if (tile) {
      tile.classList.add("fresh");
      setTimeout(() => tile.classList.remove("fresh"), 6000);
    }
  }

  // --- acknowledge / resolve -----------------------------------------------------------------

  async function act(tile, action, note, payload) {
    const error = tile.querySelector(".error");
    const form = tile.querySelector(".note-form");
    error.hidden = true;
    for (const button of tile.querySelectorAll("button")) button.disabled = true;
    try {
      const response = await fetch(`${config.alertsUrl}${encodeURIComponent(tile.dataset.alertId)}/${action}/`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json",
                   "X-CSRFToken": config.csrfToken, "X-Tenant": config.tenant },
        body: JSON.stringify(payload || { note }),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error((body.error && body.error.message) || `The server said ${response.status}.`);
      form.hidden = true;
      form.reset();
      upsertAlert(body);
      refreshSummary();
    } catch (failure) {
      error.textContent = failure.message || "Could not reach the server.";
      error.hidden = false;
    } finally {
      for (const button of tile.querySelectorAll("button")) button.disabled = false;
    }
  }

  board.addEventListener("click", (event) => {
    const tile = event.target.closest(".alert");
    if (!tile) return;
    const form = tile.querySelector(".note-form");
    const snooze = event.target.closest("button[data-snooze]");
    if (snooze) {
      act(tile, "snooze", "", { minutes: Number(snooze.dataset.snooze) });
      return;
    }
    const start = event.target.closest("button[data-action]");
    if (start) {
      form.dataset.action = start.dataset.action;
      form.querySelector(".confirm").textContent = start.dataset.action === "acknowledge" ? "Confirm acknowledge"
        : "Confirm resolve";
      form.hidden = false;
      form.querySelector("input").focus();
    } else if (event.target.closest(".cancel")) {
      form.hidden = true;
    }
  });

  board.addEventListener("submit", (event) => {
    const form = event.target.closest(".note-form");
    if (!form) return;
    event.preventDefault();
    act(form.closest(".alert"), form.dataset.action, form.elements.note.value.trim());
  });

  // --- the stream ----------------------------------------------------------------------------

  let source = null;
  let retryDelay = 1000;
  let retryTimer = null;

  function setConnection(name, message) {
    const labels = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", "signed-out": "Signed out" };
    pill.dataset.state = name;
    pill.textContent = labels[name];
    document.body.dataset.stream = name;
    banner.hidden = !message;
    banner.dataset.state = name;
    banner.replaceChildren(...(message || []));
  }

  function scheduleReconnect() {
    setConnection("reconnecting", ["Connection lost: reconnecting… Nothing is missed; updates resume where they stopped."]);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, retryDelay + Math.random() * 500);
    retryDelay = Math.min(retryDelay * 2, 15000);
  }

  function onEvent(message) {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch (error) {
      return;
    }
    if (message.lastEventId) state.lastEventId = message.lastEventId;
    state.received += 1;
    board.dataset.eventsReceived = String(state.received);
    apply(event);
  }

  function onReset() {
    // The stream no longer holds everything since our snapshot: start over from a new one.
    setConnection("reconnecting", ["Catching up…"]);
    if (source) source.close();
    window.location.reload();
  }

  async function connect() {
    clearTimeout(retryTimer);
    if (source) source.close();
    if (pill.dataset.state !== "reconnecting") setConnection("connecting");
    let response;
    try {
      response = await fetch(config.ticketUrl, {
        method: "POST", credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": config.csrfToken, "X-Tenant": config.tenant },
      });
    } catch (error) {
      scheduleReconnect();
      return;
    }
    if (response.status === 401 || response.status === 403) {
      setConnection("signed-out", ["Your session has ended. ", el("a", { href: config.loginUrl, text: "Sign in again" })]);
      return;
    }
    if (!response.ok) {
      scheduleReconnect();
      return;
    }
    const grant = await response.json();
    const url = new URL(grant.stream_url, window.location.href);
    url.searchParams.set("ticket", grant.ticket);
    if (state.lastEventId) url.searchParams.set("lastEventId", state.lastEventId);
    source = new EventSource(url.toString());
    source.onopen = () => {
      retryDelay = 1000;
      setConnection("live");
    };
    // A ticket is good for one connection: reconnect ourselves rather than let EventSource retry.
    source.onerror = () => {
      source.close();
      source = null;
      scheduleReconnect();
    };
    for (const type of EVENT_TYPES) source.addEventListener(type, onEvent);
    source.addEventListener("stream.reset", onReset);
  }

  // --- start ---------------------------------------------------------------------------------

  kindFilter.append(...snapshot.kinds.map((kind) => el("option", { value: kind.value, text: kind.label })));
  const saved = readFilters();
  kindFilter.value = state.kinds.has(saved.kind) ? saved.kind : "";
  fillSiteFilter();
  siteFilter.addEventListener("change", saveFilters);
  kindFilter.addEventListener("change", saveFilters);

  showMute();
  muteButton.addEventListener("click", () => {
    localStorage.setItem(MUTE_KEY, muted() ? "0" : "1");
    showMute();
  });
  document.addEventListener("pointerdown", unlockAudio);
  document.addEventListener("keydown", unlockAudio);

  for (const site of [...state.sites.values()].sort((a, b) => a.name.localeCompare(b.name))) section(site.id);
  for (const alert of snapshot.alerts) upsertAlert(alert);
  for (const notification of snapshot.notifications) upsertNotification(notification);
  for (const device of snapshot.devices) upsertDevice(device);
  refreshSummary();
  applyFilters();
  if (state.focus && alertTiles.has(state.focus)) {
    const tile = alertTiles.get(state.focus);
    tile.hidden = false;
    tile.setAttribute("aria-current", "true");
    tile.scrollIntoView({ block: "center" });
  }
  setInterval(refreshAges, 15000);
  connect();
})();
