//! The HTTP entry point: authentication, then dispatch by path and verb.

use crate::body::{self, json_response};
use crate::objects::subresources::{self, ScaleChange};
use crate::objects::{self, DeleteOptions, WriteOptions, Written, admit::FieldValidation};
use crate::request::{self, Query, Route, Target, Verb};
use crate::state::Api;
use crate::status::{ApiError, ApiResult};
use api::patch::PatchType;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};

/// Paths served without credentials.
const PUBLIC: &[&str] = &["/healthz", "/livez", "/readyz", "/version"];

/// Handles every request.
pub async fn handle(State(api): State<Api>, req: Request) -> Response {
    match dispatch(&api, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn dispatch(api: &Api, mut req: Request) -> ApiResult<Response> {
    let path = req.uri().path().to_string();
    if crate::join::is_join_path(&path) {
        return crate::join::serve(api, req).await;
    }
    let public = PUBLIC
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")));
    if !public {
        let conn = req.extensions().get::<crate::authn::ConnInfo>();
        match api.authn.authenticate(conn, req.headers()) {
            Ok(Some(identity)) => {
                req.extensions_mut().insert(identity);
            }
            Ok(None) | Err(_) => return Err(ApiError::Unauthorized),
        }
    }
    match path.as_str() {
        "/healthz" | "/livez" | "/readyz" => return Ok((StatusCode::OK, "ok").into_response()),
        "/version" => return Ok(json_response(StatusCode::OK, &version(api))),
        "/metrics" => {
            let text = api.metrics.render();
            return Ok((
                StatusCode::OK,
                [(
                    http::header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                text,
            )
                .into_response());
        }
        _ => {}
    }
    if path == "/openapi/v2" || path.starts_with("/openapi/") {
        return crate::openapi_routes::serve(api, &path, req.headers());
    }
    if !(path == "/api"
        || path.starts_with("/api/")
        || path == "/apis"
        || path.starts_with("/apis/"))
    {
        return Err(ApiError::NoRoute);
    }
    match request::route(&path)? {
        Route::Discovery(d) => crate::discovery::serve(&d, req.headers()),
        Route::Resource(target) => resource(api, target, req).await,
    }
}

fn version(api: &Api) -> Value {
    json!({
        "major": "1",
        "minor": api.version.kube_minor.to_string(),
        "gitVersion": api.version.git_version(),
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "",
        "goVersion": "",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, go_arch()),
    })
}

/// The architecture as Kubernetes names it.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        other => other,
    }
}

fn field_manager(query: &Query, headers: &HeaderMap) -> String {
    if let Some(m) = query.get("fieldManager") {
        return m.to_string();
    }
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.split('/').next().unwrap_or(ua).to_string())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

fn with_warnings(mut resp: Response, warnings: &[String]) -> Response {
    for w in warnings {
        let escaped = w.replace('\\', "\\\\").replace('"', "\\\"");
        if let Ok(v) = HeaderValue::from_str(&format!("299 - \"{escaped}\"")) {
            resp.headers_mut().append(header::WARNING, v);
        }
    }
    resp
}

async fn resource(api: &Api, t: Target, req: Request) -> ApiResult<Response> {
    let (parts, body) = req.into_parts();
    let query = Query::parse(parts.uri.query());
    let verb = t.verb(&parts.method, &query)?;
    let want = body::negotiate(&parts.headers)?;
    let info = t.info;
    if info.namespaced && t.name.is_some() && t.namespace.is_none() {
        return Err(ApiError::NoRoute);
    }
    let ns = t.namespace.as_deref();
    let name = t.name.as_deref().unwrap_or("");
    let sub = t.subresource.as_deref();
    let opts = WriteOptions {
        dry_run: query.dry_run()?,
        field_manager: field_manager(&query, &parts.headers),
        field_validation: FieldValidation::parse(query.get("fieldValidation"))?,
        applied: false,
    };
    let respond = |w: Written| {
        let code = if w.created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        let out = crate::render::object(info, w.object, want, &query);
        with_warnings(json_response(code, &out), &w.warnings)
    };
    match (verb, sub) {
        (Verb::Get, Some("log")) => crate::logs::serve(api, info, ns, name, &query).await,
        (Verb::Get | Verb::Create, Some(s @ ("exec" | "attach" | "portforward"))) => {
            crate::streams::serve(api, info, ns, name, s, parts).await
        }
        (Verb::Get, Some("scale")) => Ok(json_response(
            StatusCode::OK,
            &subresources::get_scale(api, info, ns, name).await?,
        )),
        (Verb::Get, _) => {
            let obj = objects::get(api, info, ns, name).await?;
            Ok(json_response(
                StatusCode::OK,
                &crate::render::object(info, obj, want, &query),
            ))
        }
        (Verb::List, _) => {
            let page = objects::list::list(api, info, ns, &query).await?;
            Ok(body::json_bytes(
                StatusCode::OK,
                crate::render::list(info, page, want, &query)?,
            ))
        }
        (Verb::Watch, _) => crate::watch::watch(api, info, t.namespace.clone(), &query, want).await,
        (Verb::Create, None) => {
            let bytes = body::read(body).await?;
            let obj = body::decode_object(&parts.headers, &bytes)?;
            if !info.is_stored() {
                return Ok(json_response(
                    StatusCode::CREATED,
                    &crate::reviews::review(info, obj, &parts)?,
                ));
            }
            Ok(respond(objects::create(api, info, ns, obj, &opts).await?))
        }
        (Verb::Create, Some(s)) => {
            let bytes = body::read(body).await?;
            let obj = body::decode_object(&parts.headers, &bytes)?;
            let out = match s {
                "binding" => subresources::bind(api, info, ns, name, &obj).await?,
                "eviction" => {
                    objects::eviction::evict(api, info, ns, name, &obj, opts.dry_run).await?
                }
                _ => return Err(ApiError::MethodNotAllowed),
            };
            Ok(json_response(StatusCode::CREATED, &out))
        }
        (Verb::Update, Some("scale")) => {
            let bytes = body::read(body).await?;
            let obj = body::decode_object(&parts.headers, &bytes)?;
            let w =
                subresources::write_scale(api, info, ns, name, ScaleChange::Replace(&obj), &opts)
                    .await?;
            Ok(json_response(StatusCode::OK, &w.object))
        }
        (Verb::Update, _) => {
            let bytes = body::read(body).await?;
            let obj = body::decode_object(&parts.headers, &bytes)?;
            Ok(respond(
                objects::update(api, info, ns, name, obj, sub, &opts).await?,
            ))
        }
        (Verb::Patch, _) => {
            let ct = body::content_type(&parts.headers);
            let Some(patch_type) = PatchType::from_content_type(&ct) else {
                return Err(ApiError::UnsupportedMediaType(format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {ct:?})"
                )));
            };
            let bytes = body::read(body).await?;
            if sub == Some("scale") {
                let w = subresources::write_scale(
                    api,
                    info,
                    ns,
                    name,
                    ScaleChange::Patch(patch_type, &bytes),
                    &opts,
                )
                .await?;
                return Ok(json_response(StatusCode::OK, &w.object));
            }
            let force = query.flag("force");
            if force && patch_type != PatchType::Apply {
                return Err(ApiError::BadRequest(
                    "force: Invalid value: true: may not be specified for non-apply patch".into(),
                ));
            }
            Ok(respond(
                objects::patch(api, info, ns, name, patch_type, &bytes, sub, force, &opts).await?,
            ))
        }
        (Verb::Delete, _) => {
            let opts = delete_options(&parts.headers, body, &query).await?;
            let w = objects::delete(api, info, ns, name, &opts).await?;
            let out = crate::render::object(info, w.object, want, &query);
            Ok(json_response(StatusCode::OK, &out))
        }
        (Verb::DeleteCollection, _) => {
            let opts = delete_options(&parts.headers, body, &query).await?;
            let out = objects::delete_collection(api, info, ns, &query, &opts).await?;
            Ok(json_response(StatusCode::OK, &out))
        }
    }
}

async fn delete_options(
    headers: &HeaderMap,
    body: Body,
    query: &Query,
) -> ApiResult<DeleteOptions> {
    let bytes = body::read(body).await?;
    let decoded = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(body::decode_object(headers, &bytes)?)
    };
    DeleteOptions::from_request(decoded.as_ref(), query)
}
