// Nexus demo page: the whole sign-in story of the old frontend, in the right order.
//
// 1. A Supabase access token (pasted, or the launcher's dev token) goes to the session
//    bridge; the bridge answers with a backend access token and sets httpOnly cookies.
// 2. Only after the bridge succeeded does Socket.IO connect (the old stack connected
//    first, so its WebSocket closed before it was established), with the backend token.
// 3. Rooms: Dark Rooms (anonymous aliases) and Hangouts (names, presence).
// 4. Reconnects recover what was missed: the page remembers the last {epoch, seq} of the
//    room and re-joins with it as `since`; the server answers with exactly the missed
//    messages (`recovered: true`) or the latest history (`recovered: false`).
// Every step reports its outcome in the steps panel with the old stack's words.
(function () {
  'use strict';

  const serverUrl = window.API_CONFIG.getServerUrl();
  const $ = (id) => document.getElementById(id);

  const state = {
    accessToken: null,
    userId: null,
    sessionId: null,
    socket: null,
    room: null,
    // Message ids already on screen: our own messages are shown from the ack, and an
    // echo from the server (if any) must not show them twice.
    shown: new Set(),
    // Connection-state recovery: the last {epoch, seq} seen in `room`.
    cursor: null,
  };

  // Keeps the larger seq of the room's current epoch (a live message can arrive just
  // before the join's ack); a new epoch starts over.
  function advance(epoch, seq) {
    if (typeof epoch !== 'string' || !Number.isInteger(seq)) return;
    if (!state.cursor || state.cursor.epoch !== epoch || seq > state.cursor.seq) {
      state.cursor = { epoch, seq };
    }
  }

  function step(text, ok = true) {
    const item = document.createElement('li');
    item.textContent = text;
    item.className = ok ? 'ok' : 'fail';
    $('steps').appendChild(item);
  }

  function systemLine(text) {
    const item = document.createElement('li');
    item.className = 'system';
    item.textContent = text;
    appendMessage(item);
  }

  function appendMessage(item) {
    const list = $('messages');
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;
  }

  // `from` is an alias string in Dark Rooms and a {id, name} object in Hangouts.
  function senderName(from) {
    if (typeof from === 'string') return from;
    if (from && typeof from === 'object') return from.name || from.alias || from.id || 'someone';
    return 'someone';
  }

  function showMessage(message, mine = false) {
    if (message.id) {
      if (state.shown.has(message.id)) return;
      state.shown.add(message.id);
    }
    const item = document.createElement('li');
    item.dataset.room = message.room || '';
    item.dataset.id = message.id || '';
    const from = document.createElement('span');
    from.className = 'from';
    from.textContent = senderName(message.from);
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = message.text;
    item.append(from, text);
    if (mine || (typeof message.from === 'object' && message.from && message.from.id === state.userId)) {
      item.classList.add('mine');
    }
    appendMessage(item);
  }

  function showMembers(members) {
    if (!Array.isArray(members) || members.length === 0) {
      $('members').textContent = '-';
      return;
    }
    $('members').textContent = members.map(senderName).join(', ');
  }

  function setSignedIn(signedIn) {
    $('sign-in').disabled = signedIn;
    $('load-dev-token').disabled = signedIn;
    $('refresh').disabled = !signedIn;
    $('logout').disabled = !signedIn;
  }

  function setConnected(connected) {
    $('socket-state').textContent = connected ? 'connected' : 'disconnected';
    for (const id of ['join-darkroom', 'create-hangout', 'join-room']) {
      $(id).disabled = !connected;
    }
    setInRoom(connected && state.room !== null);
  }

  function setInRoom(inRoom) {
    $('leave-room').disabled = !inRoom;
    $('message-text').disabled = !inRoom;
    $('send').disabled = !inRoom;
    $('current-room').textContent = inRoom ? state.room : 'none';
  }

  // The auth-service envelope: {success, message, ...data} or {success: false, message, error}.
  async function authCall(path, { bearer, body = {} } = {}) {
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    const response = await fetch(`${serverUrl}/api/auth${path}`, {
      method: 'POST',
      credentials: 'include',
      headers,
      body: JSON.stringify(body),
    });
    let payload = null;
    try {
      payload = await response.json();
    } catch (_) {
      payload = { success: false, message: `HTTP ${response.status} without a JSON body` };
    }
    if (!response.ok || !payload.success) {
      const reason = payload.error ? `${payload.message} (${payload.error})` : payload.message;
      throw new Error(reason || `HTTP ${response.status}`);
    }
    return payload;
  }

  async function loadDevToken() {
    try {
      const response = await fetch(`${serverUrl}/dev-token.json`, { cache: 'no-store' });
      if (response.status !== 200) {
        step('No dev token here (only scripts/dev-up.sh writes one): paste a Supabase token', false);
        return;
      }
      const body = await response.json();
      $('supabase-token').value = body.access_token;
      step('Supabase token loaded (launcher dev token)');
    } catch (error) {
      step(`Dev token could not be loaded: ${error.message}`, false);
    }
  }

  function rememberSession(payload) {
    state.accessToken = payload.access_token;
    const session = payload.session || {};
    const user = payload.user || {};
    state.sessionId = typeof session === 'string' ? session : session.id || null;
    state.userId = typeof user === 'string' ? user : user.id || null;
    $('user-id').textContent = state.userId || '-';
    $('session-id').textContent = state.sessionId || '-';
  }

  async function signIn() {
    const supabaseToken = $('supabase-token').value.trim();
    if (!supabaseToken) {
      step('Paste a Supabase access token first', false);
      return;
    }
    $('sign-in').disabled = true;
    try {
      const payload = await authCall('/session/bridge', { bearer: supabaseToken });
      rememberSession(payload);
      // The old stack's words; the service's own message says whether it was new.
      step(`Session bridge successful (${payload.message})`);
      setSignedIn(true);
      connectSocket();
    } catch (error) {
      step(`Session bridge failed: ${error.message}`, false);
      $('sign-in').disabled = false;
    }
  }

  async function refreshSession() {
    try {
      // The refresh token travels in its httpOnly cookie (Path=/api/auth).
      const payload = await authCall('/session/refresh');
      rememberSession(payload);
      step('Session refreshed');
    } catch (error) {
      step(`Session refresh failed: ${error.message}`, false);
    }
  }

  function connectSocket() {
    if (state.socket) state.socket.disconnect();
    const socket = window.io(serverUrl, {
      path: '/socket.io/',
      // A function, so a reconnect after a refresh presents the current token.
      auth: (callback) => callback({ token: state.accessToken }),
      withCredentials: true,
    });
    state.socket = socket;

    let refreshedForThisRefusal = false;
    socket.on('connect', () => {
      refreshedForThisRefusal = false;
      step('Socket connected successfully');
      setConnected(true);
      // Re-join after a reconnect, asking for what was missed meanwhile.
      if (state.room) joinRoom(state.room, state.cursor);
    });
    socket.on('connect_error', async (error) => {
      step(`Socket connection refused: ${error.message}`, false);
      setConnected(false);
      // An access token lives 15 minutes: after a long outage the reconnect presents an
      // expired one. Refresh once (cookie) and try again; a second refusal stays final.
      if (error.message === 'unauthorized' && state.accessToken && !refreshedForThisRefusal) {
        refreshedForThisRefusal = true;
        await refreshSession();
        if (state.socket === socket && state.accessToken) socket.connect();
      }
    });
    socket.on('disconnect', (reason) => {
      setConnected(false);
      if (reason !== 'io client disconnect') systemLine(`Socket disconnected (${reason})`);
    });
    socket.on('room:message', (message) => {
      if (message && message.room === state.room) {
        advance(message.epoch, message.seq);
        showMessage(message);
      }
    });
    socket.on('room:presence', (presence) => {
      if (!presence || presence.room !== state.room) return;
      showMembers(presence.members);
      const who = senderName(presence.joined || presence.left);
      if (presence.joined) systemLine(`${who} joined`);
      if (presence.left) systemLine(`${who} left`);
    });
    socket.on('session:revoked', (event) => {
      step(`Session revoked (${(event && event.reason) || 'no reason given'})`, false);
    });
  }

  function ackError(ack) {
    if (!ack) return 'no answer';
    if (ack.error) return `${ack.error.code}: ${ack.error.message}`;
    return 'refused';
  }

  async function joinRoom(room, since = null) {
    if (!state.socket) return;
    const request = since && room === state.room ? { room, since } : { room };
    const ack = await state.socket.timeout(5000).emitWithAck('room:join', request).catch((error) => ({ ok: false, error: { code: 'timeout', message: error.message } }));
    if (!ack || !ack.ok) {
      step(`Could not join ${room}: ${ackError(ack)}`, false);
      return;
    }
    if (state.room && state.room !== ack.room) {
      state.socket.emit('room:leave', { room: state.room });
    }
    const rejoined = state.room === (ack.room || room);
    state.room = ack.room || room;
    if (ack.recovered === true) {
      // Exactly what was missed: append (ids already shown are skipped).
      systemLine(`Back online: ${(ack.history || []).length} missed message(s) recovered`);
    } else {
      $('messages').replaceChildren();
      state.shown.clear();
      state.cursor = null;
      if (rejoined && since) systemLine('Back online: some messages may be missing, showing the latest');
    }
    if (ack.hangout && ack.hangout.name) systemLine(`Hangout: ${ack.hangout.name}`);
    for (const message of ack.history || []) {
      advance(message.epoch, message.seq);
      showMessage(message);
    }
    advance(ack.epoch, ack.seq);
    showMembers(ack.members);
    setInRoom(true);
    step(rejoined ? `Re-joined ${state.room}${ack.recovered === true ? ' (recovered)' : ''}` : `Joined ${state.room}`);
  }

  async function leaveRoom() {
    if (!state.socket || !state.room) return;
    const room = state.room;
    const ack = await state.socket.timeout(5000).emitWithAck('room:leave', { room }).catch(() => null);
    state.room = null;
    showMembers([]);
    setInRoom(false);
    step(ack && ack.ok ? `Left ${room}` : `Left ${room} (no confirmation)`, Boolean(ack && ack.ok));
  }

  async function createHangout() {
    const name = $('hangout-name').value.trim();
    const ack = await state.socket.timeout(5000).emitWithAck('hangout:create', { name }).catch((error) => ({ ok: false, error: { code: 'timeout', message: error.message } }));
    if (!ack || !ack.ok) {
      step(`Could not create the hangout: ${ackError(ack)}`, false);
      return;
    }
    step(`Hangout created: ${ack.room}`);
    $('room-name').value = ack.room;
    await joinRoom(ack.room);
  }

  async function sendMessage(event) {
    event.preventDefault();
    const text = $('message-text').value.trim();
    if (!text || !state.room) return;
    const ack = await state.socket.timeout(5000).emitWithAck('room:message', { room: state.room, text }).catch((error) => ({ ok: false, error: { code: 'timeout', message: error.message } }));
    if (!ack || !ack.ok) {
      step(`Message not delivered: ${ackError(ack)}`, false);
      return;
    }
    $('message-text').value = '';
    // The server sends room messages to the other members; show ours from the ack.
    advance(ack.epoch, ack.seq);
    showMessage({ room: state.room, id: ack.id, from: 'You', text, ts: ack.ts }, true);
  }

  async function logout() {
    try {
      const payload = await authCall('/session/logout?scope=local', { bearer: state.accessToken });
      step(`Logged out (${payload.message})`);
    } catch (error) {
      step(`Logout failed: ${error.message}`, false);
    }
    if (state.socket) state.socket.disconnect();
    state.socket = null;
    state.accessToken = null;
    state.room = null;
    setConnected(false);
    setSignedIn(false);
    $('user-id').textContent = '-';
    $('session-id').textContent = '-';
  }

  $('load-dev-token').addEventListener('click', loadDevToken);
  $('sign-in').addEventListener('click', signIn);
  $('refresh').addEventListener('click', refreshSession);
  $('logout').addEventListener('click', logout);
  $('join-darkroom').addEventListener('click', () => {
    joinRoom(`darkroom:${$('darkroom-slug').value.trim()}`);
  });
  $('create-hangout').addEventListener('click', createHangout);
  $('join-room').addEventListener('click', () => joinRoom($('room-name').value.trim()));
  $('leave-room').addEventListener('click', leaveRoom);
  $('message-form').addEventListener('submit', sendMessage);

  if (typeof window.io !== 'function') {
    step('socket.io-client did not load (vendor/socket.io.min.js missing)', false);
  }
})();
