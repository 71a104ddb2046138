// The one WebSocket to /api/v1/stream (host/api/stream.h) that every page shares.
//
// Pages subscribe to batches and read the events they care about. The connection comes back
// by itself after a network cut or after tarsd dropped us for falling behind (close 1008 "too
// slow"); a refused token (1008 "sign in first", or "token revoked", "token expired", "token
// rotated: …" when it stopped working while connected) ends the session instead. A reconnect brings
// a fresh snapshot, so pages that keep their own state from REST plus events stay right.

export class Stream {
  constructor() {
    this.ws = null;
    this.token = null;
    this.agents = []; // the filter: [] is every agent
    this.listeners = new Set();
    this.stateListeners = new Set();
    this.state = 'closed'; // closed, connecting, live, retrying
    this.delay = 1000;
    this.timer = 0;
    this.onAuthFailed = () => {};
  }

  open(token) {
    this.close();
    this.token = token;
    this.connect();
  }

  close() {
    clearTimeout(this.timer);
    this.token = null;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = ws.onmessage = ws.onopen = null;
      ws.close(1000, 'signed out');
    }
    this.setState('closed');
  }

  // fn(batch) for each batch {t, events}; returns the function that unsubscribes.
  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  // fn(state) on each change of the connection's state; called once at once.
  watch(fn) {
    this.stateListeners.add(fn);
    fn(this.state);
    return () => this.stateListeners.delete(fn);
  }

  // Only these agents' events from now on ([] for all). A page that shows one agent asks for
  // it alone, so a busy neighbour's thousands of episodes a second never reach the browser.
  filter(agents) {
    this.agents = agents;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ agents }));
    }
  }

  connect() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}/api/v1/stream`);
    this.ws = ws;
    this.setState('connecting');
    ws.onopen = () => {
      ws.send(JSON.stringify({ token: this.token, agents: this.agents }));
    };
    ws.onmessage = (m) => {
      if (this.state !== 'live') {
        this.delay = 1000;
        this.setState('live');
      }
      let batch;
      try {
        batch = JSON.parse(m.data);
      } catch {
        return;
      }
      for (const fn of this.listeners) fn(batch);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (e.code === 1008 && (e.reason.startsWith('sign in') || e.reason.startsWith('token'))) {
        this.setState('closed');
        this.onAuthFailed();
        return;
      }
      this.setState('retrying');
      this.timer = setTimeout(() => this.token && this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 15000);
    };
  }

  setState(s) {
    if (s === this.state) return;
    this.state = s;
    for (const fn of this.stateListeners) fn(s);
  }
}

export const stream = new Stream();
