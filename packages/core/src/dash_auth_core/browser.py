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
