//! `hello-http`: a `wasi:http` server. Every request gets one line back:
//! the greeting (`GREETING`, default "hello"), the pod (`POD_NAME`) and
//! the request's method and path. `GET /healthz` answers `ok` (for probes).
//! The agent instantiates it afresh for every request.

use std::io::Write as _;

use wasip2::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

struct Hello;

wasip2::http::proxy::export!(Hello);

fn method_name(m: &Method) -> String {
    match m {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(o) => o.clone(),
    }
}

impl wasip2::exports::http::incoming_handler::Guest for Hello {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_else(|| "/".into());
        let text = if path == "/healthz" {
            "ok\n".to_owned()
        } else {
            let greeting = std::env::var("GREETING").unwrap_or_else(|_| "hello".into());
            let pod = std::env::var("POD_NAME").unwrap_or_else(|_| "an unnamed pod".into());
            format!(
                "{greeting} from {pod}: {} {path}\n",
                method_name(&request.method())
            )
        };
        let headers = Fields::from_list(&[("content-type".to_owned(), b"text/plain".to_vec())])
            .expect("valid header");
        let response = OutgoingResponse::new(headers);
        let body = response.body().expect("the body, once");
        ResponseOutparam::set(out, Ok(response));
        let mut stream = body.write().expect("the body stream, once");
        stream.write_all(text.as_bytes()).expect("writing the body");
        stream.flush().expect("flushing the body");
        drop(stream);
        OutgoingBody::finish(body, None).expect("finishing the body");
    }
}
