// One WebSocket per tab for the board on screen: resumes with `since=<last seq>` after a drop,
// drops duplicate or old events by `seq`, asks for a reload on `resync_required`, reconnects with
// exponential back-off and jitter, and reports its state for the header badge.

import { api, session } from './api.js';

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 30000;
const PING_EVERY_MS = 20000;
/** A socket that has not said `connected` by then is given up (a proxy may hold it open silently). */
const CONNECT_TIMEOUT_MS = 10000;

export class Live {
  /** handlers: onEvent(envelope), onResync(), onState('connecting'|'live'|'reconnecting'|'offline') */
  constructor(boardId, handlers) {
    this.boardId = boardId;
    this.handlers = handlers;
    this.lastSeq = null;
    this.attempt = 0;
    this.stopped = false;
    this.socket = null;
    this.timer = null;
    this.onOffline = () => this.drop('offline');
    this.onOnline = () => { this.attempt = 0; this.schedule(0); };
    window.addEventListener('offline', this.onOffline);
    window.addEventListener('online', this.onOnline);
  }

  start() {
    this.connect();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    window.removeEventListener('offline', this.onOffline);
    window.removeEventListener('online', this.onOnline);
    if (this.socket) this.socket.close(1000);
  }

  url() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const q = new URLSearchParams({ board_id: String(this.boardId), client_id: 'web-board' });
    if (this.lastSeq !== null) q.set('since', String(this.lastSeq));
    if (session.access) q.set('token', session.access);
    return `${scheme}://${location.host}/ws/connect?${q}`;
  }

  async connect() {
    if (this.stopped) return;
    if (!navigator.onLine) { this.state('offline'); return; }
    this.state(this.attempt ? 'reconnecting' : 'connecting');
    // After a failed attempt the access token may have expired: any API call refreshes it.
    if (this.attempt && session.access) await api('GET', '/api/auth/me').catch(() => {});
    if (this.stopped || this.socket) return;
    const ws = new WebSocket(this.url());
    this.socket = ws;
    ws.addEventListener('message', (m) => this.receive(m.data));
    ws.addEventListener('close', () => {
      if (this.socket !== ws) return;
      clearInterval(this.pinger);
      this.socket = null;
      if (this.stopped) return;
      this.state(navigator.onLine ? 'reconnecting' : 'offline');
      this.schedule(this.backoff());
    });
    const giveUp = setTimeout(() => { if (this.socket === ws && this.current !== 'live') ws.close(); }, CONNECT_TIMEOUT_MS);
    ws.addEventListener('close', () => clearTimeout(giveUp));
    ws.addEventListener('open', () => {
      clearInterval(this.pinger);
      this.pinger = setInterval(() => this.send({ type: 'ping' }), PING_EVERY_MS);
    });
  }

  /** Close the socket now (network gone); a reconnect follows when it is back. */
  drop(state) {
    const ws = this.socket;
    this.socket = null;
    clearInterval(this.pinger);
    if (ws) ws.close();
    this.state(state);
  }

  backoff() {
    const exp = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** this.attempt);
    this.attempt += 1;
    return exp / 2 + Math.random() * (exp / 2);
  }

  schedule(delay) {
    clearTimeout(this.timer);
    if (this.socket) return;
    this.timer = setTimeout(() => this.connect(), delay);
  }

  send(msg) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(msg));
  }

  receive(text) {
    let msg;
    try { msg = JSON.parse(text); } catch { return; }
    switch (msg.event) {
      case 'connected': {
        this.attempt = 0;
        const first = this.lastSeq === null;
        if (first) this.lastSeq = msg.data?.last_seq ?? 0;
        this.state('live');
        // The first time, the board is (re)loaded after subscribing, so nothing falls between.
        if (first) this.handlers.onResync();
        return;
      }
      case 'heartbeat':
        this.send({ type: 'heartbeat_response', heartbeat_id: msg.heartbeat_id });
        return;
      case 'resync_required':
        if (msg.data?.last_seq !== null && msg.data?.last_seq !== undefined) this.lastSeq = msg.data.last_seq;
        this.handlers.onResync();
        return;
      default:
        if (typeof msg.seq !== 'number' || msg.board_id !== this.boardId) return;
        if (this.lastSeq !== null && msg.seq <= this.lastSeq) return;
        this.lastSeq = msg.seq;
        this.handlers.onEvent(msg);
    }
  }

  state(s) {
    this.current = s;
    this.handlers.onState?.(s);
  }
}
