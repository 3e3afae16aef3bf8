//! The live stream from a test: a WebSocket to `/api/live` with a person's session.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

use super::Client;

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens `client`'s stream with this query (`after=12`, `only=notices`, or nothing).
pub async fn open_with(client: &Client, query: &str) -> Result<Socket, WsError> {
    let ws = client.base.replacen("http://", "ws://", 1);
    let url = match query {
        "" => format!("{ws}/api/live"),
        query => format!("{ws}/api/live?{query}"),
    };
    let mut request = url.into_client_request().unwrap();
    if let Some(cookie) = client.session_cookie() {
        request
            .headers_mut()
            .insert("cookie", format!("buzon_session={cookie}").parse().unwrap());
    }
    connect_async(request).await.map(|(socket, _)| socket)
}

/// The next frame of text on the stream, or `None` when nothing arrives for `wait`.
pub async fn next_event(socket: &mut Socket, wait: Duration) -> Option<Value> {
    loop {
        match tokio::time::timeout(wait, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return Some(serde_json::from_str(&text).unwrap()),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}
