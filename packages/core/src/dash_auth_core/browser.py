"""The scripts the stack adds to the index: login prompts instead of blank pages.

Client-side navigation to a private page asks Dash's routing callback for
the page; without a user the guard answers JSON 401 and the page would stay
blank. The script turns that 401 into a full page load of the new URL, which
the guard answers with the provider's challenge (a login prompt or a
redirect). It reloads at most once every few seconds, so a misconfiguration
cannot make it loop.
"""

from __future__ import annotations

import json
from typing import Any

from ._private.dash import PAGES_ROUTER_ID, inline_scripts

#: Starts the error reply to a private page's routing callback over the socket.
LOGIN_REQUIRED = "dash-auth:login-required"
#: Starts the reason of every close for sign-in reasons (code 4001).
AUTH_REASON_PREFIX = "dash-auth/auth: "
#: A random value the page's script keeps in a cookie: it tells a browser's anonymous
#: sockets (shared between its tabs) when that browser signs in. It proves nothing.
BROWSER_COOKIE = "dash_auth_browser"

RELOAD_ON_ROUTER_401 = (
    "(function(){var f=window.fetch;if(!f||f.__dashAuth)return;"
    "var R=" + json.dumps('"output":"' + PAGES_ROUTER_ID + '"') + ";"
    "var w=function(input,init){var p=f.apply(this,arguments);try{"
    "var u=typeof input==='string'?input:(input&&input.url)||'';"
    "if(u.indexOf('_dash-update-component')<0||!init||typeof init.body!=='string'||init.body.indexOf(R)<0)return p;"
    "}catch(e){return p;}"
    "return p.then(function(r){if(r.status===401){var k='dash-auth-reload',t=Date.now(),"
    "l=+(window.sessionStorage&&sessionStorage.getItem(k))||0;"
    "if(t-l>5000){try{sessionStorage.setItem(k,String(t));}catch(e){}window.location.reload();}}return r;});};"
    "w.__dashAuth=true;window.fetch=w;})();"
)


#: WebSocket callbacks (Quart, FastAPI): the page keeps a random browser cookie (see
#: BROWSER_COOKIE), and Dash's client talks to the socket through a
#: SharedWorker. When the server answers a private page's routing callback with
#: "login required", or closes the socket because the login ended (close code
#: 4001, which also stops the client's reconnect loop), the page reloads: the
#: full page load gets the login challenge instead of a page that hangs.
#: Loop-guarded: at most three reloads in 15 seconds.
RELOAD_ON_WEBSOCKET_AUTH = (
    "(function(){try{if(document.cookie.indexOf(" + json.dumps(BROWSER_COOKIE + "=") + ")<0){"
    "var a=new Uint8Array(16);crypto.getRandomValues(a);var v='';"
    "for(var i=0;i<a.length;i++)v+=('0'+a[i].toString(16)).slice(-2);"
    "document.cookie=" + json.dumps(BROWSER_COOKIE + "=") + "+v+'; path=/; SameSite=Lax';}}catch(e){}"
    "var S=window.SharedWorker;if(!S||S.__dashAuth)return;"
    "var M=" + json.dumps(LOGIN_REQUIRED) + ",P=" + json.dumps(AUTH_REASON_PREFIX) + ";"
    # At most 3 reloads in 15 s: a logout closes the socket before its response
    # has cleared the cookie, so the first reload may still be signed in.
    "function r(){var k='dash-auth-ws-reload',t=Date.now(),l=[];"
    "try{l=JSON.parse(sessionStorage.getItem(k)||'[]').filter(function(x){return t-x<15000;});}catch(e){}"
    "if(l.length<3){l.push(t);try{sessionStorage.setItem(k,JSON.stringify(l));}catch(e){}window.location.reload();}}"
    "function c(ev){try{var m=ev.data;if(!m||typeof m!=='object')return;var p=m.payload||{};"
    "if(m.type==='callback_response'&&p.status==='error'&&typeof p.message==='string'&&p.message.indexOf(M)===0)r();"
    "else if(m.type==='disconnected'&&typeof p.reason==='string'&&p.reason.indexOf(P)===0)r();}catch(e){}}"
    "var W=function(u,o){var w=new S(u,o);try{w.port.addEventListener('message',c);}catch(e){}return w;};"
    "W.prototype=S.prototype;W.__dashAuth=true;window.SharedWorker=W;})();"
)


def install(app: Any) -> None:
    """Add the scripts to ``app``'s index (Dash Pages apps; backends with WebSocket callbacks)."""
    scripts = inline_scripts(app)
    if scripts is None:
        return
    if getattr(app, "use_pages", False) and RELOAD_ON_ROUTER_401 not in scripts:
        scripts.append(RELOAD_ON_ROUTER_401)
    if getattr(getattr(app, "backend", None), "websocket_capability", False) and RELOAD_ON_WEBSOCKET_AUTH not in scripts:
        scripts.append(RELOAD_ON_WEBSOCKET_AUTH)


#: The Dash components (``dash_auth_core.components``) and expired sessions, on every page:
#:
#: * links the components' stylesheet first in <head> (the app's own CSS comes later and wins);
#: * asks the stack's session route once who is signed in, and fills every ``CurrentUser``
#:   (``data-dash-auth-user``) with the name (email, groups) or a "Sign in" link, also those a
#:   page or callback adds later (a MutationObserver); the text is set as text, never as HTML;
#: * a ``LogoutButton`` (a form marked ``data-dash-auth-logout``) signs out in one click: its
#:   submit becomes a POST of a fresh form carrying the session's CSRF token to the logout URL
#:   of the current login (the OIDC route for an OIDC login);
#: * a callback answered 401 on a page that was signed in when it loaded (the session
#:   expired, or signed out elsewhere) goes to the sign-in with ``next`` = this page and
#:   ``reason=expired``, so the user comes back here (loop-guarded: once in 10 seconds).
COMPONENTS_SCRIPT = r"""(function(){if(window.__dashAuthUI)return;window.__dashAuthUI=true;
var C=__CONFIG__,S=null,P=null,d=document;
try{var l=d.createElement('link');l.rel='stylesheet';l.href=C.css;d.head.insertBefore(l,d.head.firstChild);}catch(e){}
function load(fresh){if(!P||fresh){P=fetch(C.session,{credentials:'same-origin',cache:'no-store',headers:{'Accept':'application/json'}})
.then(function(r){return r.ok?r.json():null;}).then(function(j){if(j)S=j;return j;},function(){return null;});}return P;}
function here(){return location.pathname+location.search+location.hash;}
function withNext(u,extra){return u+(u.indexOf('?')<0?'?':'&')+'next='+encodeURIComponent(here())+(extra||'');}
function span(cls,text){var s=d.createElement('span');s.className=cls;s.textContent=text;return s;}
function fillUser(el){if(!S||el.__dashAuthFilled===S)return;el.__dashAuthFilled=S;var o={};
try{o=JSON.parse(el.getAttribute('data-dash-auth-user')||'{}');}catch(e){}
while(el.firstChild)el.removeChild(el.firstChild);var u=S.user,L=S.labels||{};
if(u){el.appendChild(span('dash-auth-user-name',u.name||''));el.setAttribute('data-signed-in','true');
if(o.email&&u.email)el.appendChild(span('dash-auth-user-email',u.email));
if(o.groups&&u.groups&&u.groups.length){var g=span('dash-auth-user-groups',u.groups.join(', '));g.title=L.groups||'Groups';el.appendChild(g);}}
else{el.setAttribute('data-signed-in','false');if(o.signIn!==false){var a=d.createElement('a');a.className='dash-auth-sign-in';
a.href=withNext(S.login_url||C.signin);a.textContent=o.signInLabel||L.sign_in||'Sign in';
a.addEventListener('click',function(){a.href=withNext(S.login_url||C.signin);});el.appendChild(a);}}}
function fillLabel(el){if(S&&S.labels&&S.labels.sign_out&&el.__dashAuthLabel!==S){el.__dashAuthLabel=S;el.textContent=S.labels.sign_out;}}
function scan(){var i,n=d.querySelectorAll('[data-dash-auth-user]');for(i=0;i<n.length;i++)fillUser(n[i]);
n=d.querySelectorAll('[data-dash-auth-label="sign_out"]');for(i=0;i<n.length;i++)fillLabel(n[i]);}
var q=false;function later(){if(q)return;q=true;setTimeout(function(){q=false;scan();},0);}
function start(){load().then(scan);try{new MutationObserver(later).observe(d.body,{childList:true,subtree:true});}catch(e){}}
if(d.body)start();else d.addEventListener('DOMContentLoaded',start);
d.addEventListener('submit',function(ev){var f=ev.target;if(!f||!f.getAttribute||!f.hasAttribute('data-dash-auth-logout'))return;
ev.preventDefault();load(true).then(function(j){if(!j||!j.csrf_token){location.href=(j&&j.logout_url)||C.logout;return;}
var p=d.createElement('form');p.method='post';p.action=j.logout_url||C.logout;p.style.display='none';
var t=d.createElement('input');t.type='hidden';t.name=j.csrf_field||'csrf_token';t.value=j.csrf_token;p.appendChild(t);
d.body.appendChild(p);p.submit();});},true);
var F=window.fetch;if(F&&!F.__dashAuthExpired){var R=__ROUTER__;
var W=function(input,init){var p=F.apply(this,arguments);try{var u=typeof input==='string'?input:(input&&input.url)||'';
if(u.indexOf('_dash-update-component')<0||(init&&typeof init.body==='string'&&init.body.indexOf(R)>=0))return p;}catch(e){return p;}
return p.then(function(r){if(r.status===401&&S&&S.user){r.clone().json().then(function(b){var k='dash-auth-expired',t=Date.now(),
last=+(window.sessionStorage&&sessionStorage.getItem(k))||0;if(t-last<10000)return;try{sessionStorage.setItem(k,String(t));}catch(e){}
var to=(b&&typeof b.login_url==='string'&&b.login_url.charAt(0)==='/'&&b.login_url.charAt(1)!=='/')?b.login_url:(S.login_url||C.signin);
location.href=withNext(to,'&reason=expired');},function(){});}return r;});};
W.__dashAuthExpired=true;W.__dashAuth=F.__dashAuth;window.fetch=W;}
})();"""


def components_script(config: dict[str, str]) -> str:
    """:data:`COMPONENTS_SCRIPT` for one app's URLs (JSON-encoded, ``<`` escaped: it sits in a <script>)."""
    encoded = json.dumps(config).replace("<", "\\u003c")
    router = json.dumps('"output":"' + PAGES_ROUTER_ID + '"').replace("<", "\\u003c")
    return COMPONENTS_SCRIPT.replace("__CONFIG__", encoded).replace("__ROUTER__", router)


def install_components_script(app: Any, config: dict[str, str]) -> None:
    """Add the components' script to ``app``'s index (once)."""
    scripts = inline_scripts(app)
    if scripts is None:
        return
    text = components_script(config)
    if not any(isinstance(s, str) and s.startswith("(function(){if(window.__dashAuthUI)") for s in scripts):
        scripts.append(text)
