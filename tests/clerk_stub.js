/* A stand-in for clerk-js (Clerk's browser bundle), served by tests/clerk_support.py.
 *
 * Like the real script it reads the publishable key from its own tag, sets
 * window.Clerk, talks to the Frontend API it was loaded from (the __client
 * cookie names the browser's client there), keeps the current session token
 * in the __session cookie of the page's own site and refreshes it, tells
 * listeners (addListener) when the session changes, mounts a sign-in form
 * (mountSignIn, class cl-rootBox), and signs out (signOut).
 */
(function () {
  var me = document.currentScript;
  if (!me || window.Clerk) return;
  var src = new URL(me.src);
  var base = src.origin;
  var refreshMs = +(src.searchParams.get('refresh') || 50000);
  var listeners = [];
  var timer = null;

  function setCookie(token) { document.cookie = '__session=' + token + '; path=/; SameSite=Lax'; }
  function dropCookie() { document.cookie = '__session=; Max-Age=0; path=/; SameSite=Lax'; }
  function api(path, body) {
    var init = {method: body ? 'POST' : 'GET', credentials: 'include'};
    if (body) init.body = new URLSearchParams(body);
    return fetch(base + path, init).then(function (r) {
      return r.json().then(function (j) { return {status: r.status, json: j}; });
    });
  }
  function emit() {
    listeners.slice().forEach(function (f) {
      try { f({session: C.session, user: C.user, client: {}}); } catch (e) { if (window.console) console.error(e); }
    });
  }
  function lost() {
    // The Frontend API no longer knows the session (revoked or ended elsewhere).
    C.session = null; C.user = null; dropCookie(); stop(); emit();
  }
  function makeSession(s) {
    return {
      id: s.id, user_id: s.user_id, status: 'active',
      getToken: function () {
        return api('/v1/client/sessions/' + s.id + '/tokens', {}).then(function (a) {
          if (a.status !== 200 || !a.json.jwt) { if (C.session && C.session.id === s.id) lost(); return null; }
          if (C.session && C.session.id === s.id) setCookie(a.json.jwt);
          return a.json.jwt;
        });
      }
    };
  }
  function stop() { if (timer) { clearInterval(timer); timer = null; } }
  function schedule() {
    stop();
    timer = setInterval(function () { if (C.session) C.session.getToken(); }, refreshMs);
  }
  function adopt(payload) {
    C.session = payload.session ? makeSession(payload.session) : null;
    C.user = payload.user || null;
  }

  var C = {
    loaded: false,
    session: null,
    user: null,
    publishableKey: me.getAttribute('data-clerk-publishable-key'),
    load: function () {
      if (C._loading) return C._loading;
      C._loading = api('/v1/client').then(function (a) {
        adopt(a.json);
        C.loaded = true;
        if (!C.session) { dropCookie(); return; }
        return C.session.getToken().then(function () { schedule(); });
      });
      return C._loading;
    },
    addListener: function (f) {
      listeners.push(f);
      return function () { listeners = listeners.filter(function (g) { return g !== f; }); };
    },
    mountSignIn: function (el) {
      if (!C.loaded) throw new Error('Clerk: mountSignIn before load()');
      el.innerHTML = '<div class="cl-rootBox"><label>Email or username <input id="clerk-identifier"></label>' +
        '<button id="clerk-continue" type="button">Continue</button><p class="cl-error"></p></div>';
      el.querySelector('#clerk-continue').addEventListener('click', function () {
        var value = el.querySelector('#clerk-identifier').value;
        api('/v1/client/sign_ins', {identifier: value}).then(function (a) {
          if (a.status !== 200) {
            el.querySelector('.cl-error').textContent = a.json.errors[0].message;
            return;
          }
          adopt(a.json);
          C.session.getToken().then(function () { schedule(); emit(); });
        });
      });
    },
    signOut: function () {
      var s = C.session;
      C.session = null; C.user = null; dropCookie(); stop();
      var done = s ? api('/v1/client/sessions/' + s.id + '/remove', {}) : Promise.resolve();
      return done.then(function () { emit(); }, function () { emit(); });
    },
    redirectToSignIn: function () { return Promise.resolve(); }
  };
  window.Clerk = C;
})();
