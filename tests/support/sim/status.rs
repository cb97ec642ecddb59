//! `Status` bodies, field for field and in the order a real kube-apiserver
//! writes them (`k8s.io/apimachinery/pkg/api/errors`).

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    kind: &'static str,
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    metadata: Empty,
    status: &'static str,
    pub message: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Details>,
    pub code: u16,
}

#[derive(Debug, Clone, Serialize)]
struct Empty {}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Details {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub group: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<Cause>,
    #[serde(rename = "retryAfterSeconds", skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cause {
    pub message: String,
}

/// `pods` or `scaledobjects.keda.sh`, as `schema.GroupResource.String()` prints it.
pub fn group_resource(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

impl Status {
    pub fn new(
        code: u16,
        reason: &str,
        message: impl Into<String>,
        details: Option<Details>,
    ) -> Status {
        Status {
            kind: "Status",
            api_version: "v1",
            metadata: Empty {},
            status: "Failure",
            message: message.into(),
            reason: reason.to_string(),
            details,
            code,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("Status serializes")
    }

    pub fn unauthorized() -> Status {
        Status::new(401, "Unauthorized", "Unauthorized", None)
    }

    /// A missing object of a served resource.
    pub fn not_found(group: &str, resource: &str, name: &str) -> Status {
        let details = Details {
            name: name.into(),
            group: group.into(),
            kind: resource.into(),
            ..Default::default()
        };
        Status::new(
            404,
            "NotFound",
            format!("{} {name:?} not found", group_resource(group, resource)),
            Some(details),
        )
    }

    /// RBAC denial, as `authorization.forbiddenMessage` + `errors.NewForbidden` word it.
    pub fn forbidden(
        user: &str,
        verb: &str,
        group: &str,
        resource: &str,
        subresource: Option<&str>,
        namespace: Option<&str>,
        name: &str,
    ) -> Status {
        let full = match subresource {
            Some(sub) => format!("{resource}/{sub}"),
            None => resource.to_string(),
        };
        let why = match namespace {
            Some(ns) => format!(
                "User {user:?} cannot {verb} resource {full:?} in API group {group:?} in the namespace {ns:?}"
            ),
            None => format!(
                "User {user:?} cannot {verb} resource {full:?} in API group {group:?} at the cluster scope"
            ),
        };
        let gr = group_resource(group, resource);
        let message = if name.is_empty() {
            format!("{gr} is forbidden: {why}")
        } else {
            format!("{gr} {name:?} is forbidden: {why}")
        };
        let details = Details {
            name: name.into(),
            group: group.into(),
            kind: resource.into(),
            ..Default::default()
        };
        Status::new(403, "Forbidden", message, Some(details))
    }

    pub fn bad_request(message: impl Into<String>) -> Status {
        Status::new(400, "BadRequest", message, None)
    }

    pub fn method_not_allowed() -> Status {
        Status::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
            Some(Details::default()),
        )
    }

    pub fn service_unavailable(message: impl Into<String>) -> Status {
        Status::new(503, "ServiceUnavailable", message, None)
    }

    pub fn internal(cause: &str) -> Status {
        let details = Details {
            causes: vec![Cause {
                message: cause.into(),
            }],
            ..Default::default()
        };
        Status::new(
            500,
            "InternalError",
            format!("Internal error occurred: {cause}"),
            Some(details),
        )
    }

    /// The 410 a watch from a compacted resourceVersion gets (inside an ERROR event).
    pub fn expired(asked: u64, oldest: u64) -> Status {
        Status::new(
            410,
            "Expired",
            format!("too old resource version: {asked} ({oldest})"),
            None,
        )
    }

    /// The body an injected fault with this HTTP code answers with.
    pub fn injected(code: u16) -> Status {
        match code {
            400 => Status::bad_request("injected fault"),
            401 => Status::unauthorized(),
            403 => Status::new(
                403,
                "Forbidden",
                "forbidden: injected fault",
                Some(Details::default()),
            ),
            405 => Status::method_not_allowed(),
            409 => Status::new(409, "Conflict", "injected fault", None),
            410 => Status::new(410, "Gone", "injected fault", None),
            429 => Status::new(
                429,
                "TooManyRequests",
                "Too many requests, please try again later.",
                Some(Details {
                    retry_after_seconds: Some(1),
                    ..Default::default()
                }),
            ),
            500 => Status::internal("injected fault"),
            503 => Status::service_unavailable("injected fault"),
            504 => Status::new(
                504,
                "Timeout",
                "Timeout: request did not complete within the allotted timeout",
                Some(Details::default()),
            ),
            c if c >= 500 => Status::new(
                c,
                "InternalError",
                "Internal error occurred: injected fault",
                None,
            ),
            c => Status::new(c, "", "injected fault", None),
        }
    }
}
