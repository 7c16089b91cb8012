"""What the browser gets: clerk-js, the listener that completes sign-ins, and the logout snippet.

clerk-js (Clerk's frontend script) signs the user in at Clerk and keeps the
current session token in the ``__session`` cookie. The *listener*
(:data:`LISTENER_JS`, served at ``/clerk/listener.js`` and added to every Dash
page with clerk-js) turns a Clerk session into an app login: when clerk-js
has a session that the app does not know of yet (the ``clerk_logged_in``
flag in ``localStorage`` is not ``"true"``, or the page is a sign-in page),
it fetches the session's CSRF token, POSTs the session token to the
callback route, and continues to the page first asked for. When the Clerk
session goes away (signed out in another tab, or through Clerk's own UI) it
resets the flag and reloads, and the server, which sees the ``__session``
cookie gone, answers anonymously.

The plugin's pages (the embedded sign-in page ``clerk_sign_in.html``, the
callback page ``clerk_callback.html``) are Jinja2 templates in this
package's ``templates/`` folder, rendered by :func:`dash_auth_core.ui.render_page`
in the app's theme and the user's language; an app replaces them by name.
The listener shows its messages in the page's ``#clerk-sign-in-error``
element, in the words of that element's ``data-*`` attributes (translated
by the template), or of the server's JSON answer.
"""

from __future__ import annotations

import html
import json

#: The localStorage flag the seed library's listener kept (documented there for custom logouts).
FLAG = "clerk_logged_in"

LISTENER_JS = r"""(function(){
var me=document.currentScript;if(!me||window.__dashAuthClerk)return;window.__dashAuthClerk=true;
var d=me.dataset,FLAG="@FLAG@",busy=false;
function flag(){try{return localStorage.getItem(FLAG);}catch(e){return null;}}
function setFlag(v){try{localStorage.setItem(FLAG,v);}catch(e){}}
var EN={rejected:'The sign-in was not accepted.',failed:'The sign-in could not be completed. Reload the page to try again.',
 absent:'You are not signed in at Clerk.',unloaded:'Clerk could not be loaded. Reload the page to try again.'};
function said(key,text){var el=document.getElementById('clerk-sign-in-error');
 text=text||(el&&el.getAttribute('data-'+key))||EN[key];if(el){el.textContent=text;}
 if(window.console)console.warn('dash-auth-clerk: '+text);}
function nextUrl(){return new URLSearchParams(location.search).get('next')||'';}
function signInPage(){return !!document.querySelector('[data-dash-auth-clerk-page]')||(d.signIn&&location.pathname===d.signIn);}
function complete(s){
 if(busy)return;var k='dash-auth-clerk-failed';
 try{if(sessionStorage.getItem(k)===s.id&&!signInPage())return;}catch(e){}
 busy=true;
 Promise.all([s.getToken(),fetch(d.state,{credentials:'same-origin',headers:{Accept:'application/json'}}).then(function(r){return r.json();})])
 .then(function(v){
  var body=new URLSearchParams();body.set('token',v[0]||'');body.set('state',v[1].state||'');body.set('next',nextUrl());body.set('page',location.pathname+location.search);
  return fetch(d.callback,{method:'POST',credentials:'same-origin',body:body,
   headers:{'Accept':'application/json','Content-Type':'application/x-www-form-urlencoded'}});})
 .then(function(r){return r.json().then(function(j){return [r.status,j];});})
 .then(function(a){
  if(a[0]===200&&a[1].next){setFlag('true');try{sessionStorage.removeItem(k);}catch(e){}location.assign(a[1].next);return;}
  try{sessionStorage.setItem(k,s.id);}catch(e){}busy=false;said('rejected',a[1]&&a[1].message);})
 .catch(function(){try{sessionStorage.setItem(k,s.id);}catch(e){}busy=false;said('failed');});
}
function check(ev){
 var C=window.Clerk,s=ev&&('session' in ev)?ev.session:C.session;
 if(s){if(flag()!=='true'||signInPage())complete(s);}
 else if(flag()==='true'){setFlag('false');if(!signInPage())location.reload();}
 else{var cb=document.querySelector('[data-dash-auth-clerk-callback]');
  if(cb){cb.hidden=true;said('absent');var a=document.getElementById('clerk-sign-in-again');if(a)a.hidden=false;}}
}
var tries=0;(function wait(){
 var C=window.Clerk;
 if(!C||typeof C.load!=='function'){if(++tries<400)setTimeout(wait,50);return;}
 Promise.resolve(C.load()).then(function(){C.addListener(check);check(null);},function(){said('unloaded');});
})();
})();""".replace('"@FLAG@"', json.dumps(FLAG))


def clerk_js_tag(clerk_js_url: str, publishable_key: str) -> str:
    """Clerk's own script tag (the browser bundle creates ``window.Clerk`` from its data attribute)."""
    return (
        f'<script async crossorigin="anonymous" data-clerk-publishable-key="{html.escape(publishable_key)}" '
        f'src="{html.escape(clerk_js_url)}" type="text/javascript"></script>'
    )


def listener_attributes(listener_url: str, callback_url: str, state_url: str, sign_in_path: str) -> dict[str, str]:
    """The listener's script tag attributes (a Dash ``external_scripts`` entry)."""
    return {
        "src": html.escape(listener_url),
        "data-callback": html.escape(callback_url),
        "data-state": html.escape(state_url),
        "data-sign-in": html.escape(sign_in_path),
    }


def signed_out_snippet(clerk_tag: str, then: str | None) -> str:
    """Added to the stack's signed-out page: sign the browser out of Clerk too.

    Resets the ``clerk_logged_in`` flag, drops the ``__session`` cookie, and
    once clerk-js has loaded calls ``Clerk.signOut()``; then, with a custom
    ``logout_page``, goes on to it.
    """
    go = f"location.replace({json.dumps(then)});" if then else ""
    return (
        f"{clerk_tag}<script>(function(){{try{{localStorage.setItem({json.dumps(FLAG)},'false');}}catch(e){{}}"
        "document.cookie='__session=; Max-Age=0; path=/; SameSite=Lax';"
        "var n=0;(function w(){var C=window.Clerk;"
        "if(!C||typeof C.load!=='function'){if(++n<100){setTimeout(w,50);return;}"
        f"{go}return;}}"
        "Promise.resolve(C.load()).then(function(){return C.signOut();}).catch(function(){})"
        f".then(function(){{{go}}});}})();}})();</script>"
    )
