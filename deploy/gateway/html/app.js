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
// 5. Group chats: groups and members live behind /api/groups; opening a group's chat asks
//    auth-service for a short-lived room grant (members only) and joins `group:<id>` with
//    it. A removed member's view leaves the room at once (`room:left`, reason "removed");
//    an expired grant is replaced by a fresh one and the room joined again.
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
    // The group whose members are shown: {id, name, created_by} or null.
    group: null,
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
    $('load-second-dev-token').disabled = signedIn;
    $('refresh').disabled = !signedIn;
    $('logout').disabled = !signedIn;
  }

  function setConnected(connected) {
    $('socket-state').textContent = connected ? 'connected' : 'disconnected';
    for (const id of ['join-darkroom', 'create-hangout', 'join-room', 'create-group',
      'refresh-groups', 'open-group']) {
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

  // The group API: same envelope, the backend access token as bearer.
  async function groupCall(method, path, body) {
    const headers = { Accept: 'application/json', Authorization: `Bearer ${state.accessToken}` };
    const init = { method, credentials: 'include', headers };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const response = await fetch(`${serverUrl}/api/groups${path}`, init);
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

  async function loadDevToken(which = 'first') {
    try {
      const response = await fetch(`${serverUrl}/dev-token.json`, { cache: 'no-store' });
      if (response.status !== 200) {
        step('No dev token here (only scripts/dev-up.sh writes one): paste a Supabase token', false);
        return;
      }
      const body = await response.json();
      const token = which === 'second' ? body.second_access_token : body.access_token;
      if (!token) {
        step('This launcher wrote no second dev user', false);
        return;
      }
      $('supabase-token').value = token;
      step(which === 'second'
        ? 'Supabase token loaded (launcher dev token, second user)'
        : 'Supabase token loaded (launcher dev token)');
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
      refreshGroups();
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
    socket.on('room:left', async (event) => {
      if (!event || event.room !== state.room) return;
      state.room = null;
      showMembers([]);
      setInRoom(false);
      systemLine(`You are no longer in ${event.room} (${event.reason})`);
      step(`Left ${event.room} (${event.reason})`, event.reason === 'grant_expired');
      // A grant only lives a few minutes: fetch a fresh one and come back (members only).
      if (event.reason === 'grant_expired') await joinRoom(event.room, state.cursor);
      if (event.reason === 'removed') await refreshGroups();
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

  // A group room needs a room grant from auth-service (members only, short-lived).
  async function grantFor(room) {
    const id = room.slice('group:'.length);
    const payload = await groupCall('POST', `/${encodeURIComponent(id)}/grant`);
    return payload.grant;
  }

  async function joinRoom(room, since = null) {
    if (!state.socket) return;
    const request = since && room === state.room ? { room, since } : { room };
    if (room.startsWith('group:')) {
      try {
        request.grant = await grantFor(room);
      } catch (error) {
        step(`No grant for ${room}: ${error.message}`, false);
        return;
      }
    }
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

  function showGroupMembers(group, members) {
    state.group = group;
    $('current-group').textContent = group ? `${group.name} (${group.id})` : 'none';
    $('leave-group').disabled = !group;
    $('add-member').disabled = !group || group.created_by !== state.userId;
    const list = $('group-members');
    list.replaceChildren();
    for (const member of members || []) {
      const item = document.createElement('li');
      item.dataset.userId = member.user_id;
      const id = document.createElement('span');
      id.textContent = member.user_id;
      const role = document.createElement('span');
      role.className = 'role';
      role.textContent = member.role;
      item.append(id, role);
      if (group.created_by === state.userId && member.user_id !== state.userId) {
        const remove = document.createElement('button');
        remove.type = 'button';
        remove.className = 'remove-member';
        remove.textContent = 'Remove';
        remove.addEventListener('click', () => removeMember(member.user_id));
        item.append(remove);
      }
      list.append(item);
    }
  }

  async function refreshGroups(selectId) {
    if (!state.accessToken) return;
    try {
      const payload = await groupCall('GET', '');
      const select = $('group-select');
      const keep = selectId || select.value;
      select.replaceChildren();
      for (const group of payload.groups) {
        const option = document.createElement('option');
        option.value = group.id;
        option.textContent = group.name;
        select.append(option);
      }
      if (payload.groups.some((group) => group.id === keep)) select.value = keep;
      if (state.group && !payload.groups.some((group) => group.id === state.group.id)) {
        showGroupMembers(null, []);
      }
      step(`Groups loaded (${payload.groups.length})`);
    } catch (error) {
      step(`Groups could not be loaded: ${error.message}`, false);
    }
  }

  async function showGroup(id) {
    const payload = await groupCall('GET', `/${encodeURIComponent(id)}`);
    showGroupMembers(payload.group, payload.members);
  }

  async function createGroup() {
    const name = $('group-name').value.trim();
    try {
      const payload = await groupCall('POST', '', { name });
      step(`Group created: ${payload.group.name}`);
      await refreshGroups(payload.group.id);
      showGroupMembers(payload.group, [{ user_id: state.userId, role: 'owner' }]);
    } catch (error) {
      step(`Could not create the group: ${error.message}`, false);
    }
  }

  async function openGroup() {
    const id = $('group-select').value;
    if (!id) {
      step('Create a group first, or ask its owner to add you', false);
      return;
    }
    try {
      await showGroup(id);
    } catch (error) {
      step(`Could not open the group: ${error.message}`, false);
      return;
    }
    await joinRoom(`group:${id}`);
  }

  async function addMember() {
    const userId = $('member-id').value.trim();
    if (!state.group || !userId) return;
    try {
      const payload = await groupCall('POST', `/${encodeURIComponent(state.group.id)}/members`, { user_id: userId });
      step(payload.added ? `Member added: ${userId}` : `Already a member: ${userId}`);
      $('member-id').value = '';
      await showGroup(state.group.id);
    } catch (error) {
      step(`Could not add the member: ${error.message}`, false);
    }
  }

  async function removeMember(userId) {
    if (!state.group) return;
    try {
      await groupCall('DELETE', `/${encodeURIComponent(state.group.id)}/members/${encodeURIComponent(userId)}`);
      step(`Member removed: ${userId}`);
      await showGroup(state.group.id);
    } catch (error) {
      step(`Could not remove the member: ${error.message}`, false);
    }
  }

  async function leaveGroup() {
    if (!state.group) return;
    await removeMember(state.userId);
    await refreshGroups();
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
    showGroupMembers(null, []);
    $('group-select').replaceChildren();
    setConnected(false);
    setSignedIn(false);
    $('user-id').textContent = '-';
    $('session-id').textContent = '-';
  }

  $('load-dev-token').addEventListener('click', () => loadDevToken('first'));
  $('load-second-dev-token').addEventListener('click', () => loadDevToken('second'));
  $('create-group').addEventListener('click', createGroup);
  $('refresh-groups').addEventListener('click', () => refreshGroups());
  $('open-group').addEventListener('click', openGroup);
  $('add-member').addEventListener('click', addMember);
  $('leave-group').addEventListener('click', leaveGroup);
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
