//! The view's HTTP server: the page and its scripts (embedded in the binary), the event
//! stream, and `/stats`.
//!
//! The stream is Server-Sent Events rather than a WebSocket: the page only listens (it is
//! read-only), so a one-way stream is all it needs; SSE is plain HTTP that tiny_http (already
//! serving `/metrics`) can write without an upgrade handshake or frame encoding, and the
//! browser's `EventSource` reconnects by itself. Each viewer gets its own writer thread, so a
//! slow connection blocks only that thread, and its bounded queue in the [`Hub`] means the
//! run never waits for it.

use super::hub::Hub;
use crate::error::{Error, Result};
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;

/// A file of the page.
struct Asset {
    path: &'static str,
    mime: &'static str,
    body: &'static [u8],
}

/// Everything the page loads; nothing comes from the network.
const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        mime: "text/html; charset=utf-8",
        body: include_bytes!("../../../assets/view/index.html"),
    },
    Asset {
        path: "/view.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../assets/view/view.js"),
    },
    Asset {
        path: "/vendor/three.module.min.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../assets/view/vendor/three.module.min.js"),
    },
    Asset {
        path: "/vendor/three.core.min.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../assets/view/vendor/three.core.min.js"),
    },
    Asset {
        path: "/vendor/OrbitControls.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../assets/view/vendor/OrbitControls.js"),
    },
    Asset {
        path: "/vendor/LICENSE-three",
        mime: "text/plain; charset=utf-8",
        body: include_bytes!("../../../assets/view/vendor/LICENSE-three"),
    },
];

/// Serves one hub until dropped.
pub struct Server {
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    addr: SocketAddr,
}

impl Server {
    /// Binds `addr:port` (0: a free port). A port in use is an input error naming it.
    pub fn start(hub: Arc<Hub>, addr: IpAddr, port: u16) -> Result<Self> {
        let want = SocketAddr::new(addr, port);
        let server = tiny_http::Server::http(want).map_err(|e| {
            Error::Input(format!(
                "cannot serve the view on {want}: {e}; choose another port with --view-port \
                 (0: any free port)"
            ))
        })?;
        let addr = server
            .server_addr()
            .to_ip()
            .expect("a TCP listener has an IP address");
        let server = Arc::new(server);
        let s = server.clone();
        let thread = std::thread::Builder::new()
            .name("view".into())
            .spawn(move || serve(&s, &hub))
            .map_err(|e| Error::Run(format!("cannot start the view's thread: {e}")))?;
        Ok(Server {
            server,
            thread: Some(thread),
            addr,
        })
    }

    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("valid header")
}

fn serve(server: &tiny_http::Server, hub: &Arc<Hub>) {
    while let Ok(req) = server.recv() {
        if *req.method() != tiny_http::Method::Get {
            // Read-only: nothing on this server changes the run.
            let _ = req.respond(
                tiny_http::Response::from_string("the view is read-only\n")
                    .with_status_code(405)
                    .with_header(header("Allow", "GET")),
            );
            continue;
        }
        let path = req.url().split('?').next().unwrap_or("").to_string();
        match path.as_str() {
            "/events" => stream(req, hub),
            "/stats" => {
                let body = serde_json::to_string(&hub.stats()).expect("serialises");
                let _ = req.respond(
                    tiny_http::Response::from_string(body)
                        .with_header(header("Content-Type", "application/json")),
                );
            }
            p => {
                let resp = match ASSETS.iter().find(|a| a.path == p) {
                    Some(a) => tiny_http::Response::from_data(a.body)
                        .with_header(header("Content-Type", a.mime)),
                    None => {
                        tiny_http::Response::from_data(&b"not found\n"[..]).with_status_code(404)
                    }
                };
                let _ = req.respond(resp);
            }
        }
    }
}

/// The body of an event stream: chunked for HTTP/1.1 (so that the end of the run ends the
/// response, while tiny_http keeps the connection for the client's next request), plain for
/// HTTP/1.0 (the connection closes when the writer is dropped).
struct Body {
    w: Box<dyn Write + Send>,
    chunked: bool,
}

impl Body {
    fn head(&mut self) -> std::io::Result<()> {
        let framing = if self.chunked {
            "Transfer-Encoding: chunked\r\n"
        } else {
            "Connection: close\r\n"
        };
        write!(
            self.w,
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\
             {framing}\r\n"
        )
    }

    fn send(&mut self, e: &str) -> std::io::Result<()> {
        if self.chunked {
            write!(self.w, "{:x}\r\n{e}\r\n", e.len())?;
        } else {
            self.w.write_all(e.as_bytes())?;
        }
        self.w.flush()
    }

    fn finish(mut self) {
        if self.chunked {
            let _ = self.w.write_all(b"0\r\n\r\n");
        }
        let _ = self.w.flush();
    }
}

/// Starts a viewer's writer thread: the response head, the first messages, then its queue
/// until the run ends (then the end message) or the connection fails.
fn stream(req: tiny_http::Request, hub: &Arc<Hub>) {
    let Some(sub) = hub.subscribe() else {
        let _ = req
            .respond(tiny_http::Response::from_string("too many viewers\n").with_status_code(503));
        return;
    };
    let chunked = *req.http_version() >= tiny_http::HTTPVersion(1, 1);
    let hub = hub.clone();
    let spawned = std::thread::Builder::new()
        .name("view-client".into())
        .spawn(move || {
            let mut body = Body {
                w: req.into_writer(),
                chunked,
            };
            let mut ok = body.head().is_ok();
            for e in &sub.first {
                ok = ok && body.send(e).is_ok();
            }
            while ok {
                match sub.rx.recv() {
                    Ok(e) => ok = body.send(&e).is_ok(),
                    Err(_) => {
                        // The run ended: its last message (unless it was among the first).
                        if let Some(end) = hub.ended() {
                            if !sub.first.last().is_some_and(|f| Arc::ptr_eq(f, &end)) {
                                ok = body.send(&end).is_ok();
                            }
                        }
                        break;
                    }
                }
            }
            if ok {
                body.finish();
            }
            hub.leave(sub.id);
        });
    // Without a thread the viewer is simply not served (its subscription is dropped).
    drop(spawned);
}
