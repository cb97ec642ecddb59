//! Evidence as a person reads it: identical lines once, with a count and the
//! objects they are about; the lines that name a cause (a Warning event such
//! as Karpenter's `NoCompatibleInstanceTypes`) before plain facts, and the
//! symptoms (the scheduler's `FailedScheduling`, a pod's `Pending`) last. A
//! report cuts the list after this, so a cause is never hidden behind its
//! repeated symptoms. The checks' evidence (and `-o json`) stays as it is.

/// Reasons that restate a symptom rather than name a cause.
const SYMPTOMS: &[&str] = &[
    "FailedScheduling",
    "BackOff",
    "Unhealthy",
    "FailedCreatePodSandBox",
];

/// One evidence line taken apart: `object[ label]: message`.
struct Parsed<'a> {
    object: &'a str,
    /// What sits between the object and the colon (`Pending 3m`), or "".
    label: &'a str,
    message: &'a str,
}

fn parse(line: &str) -> Option<Parsed<'_>> {
    let (head, message) = line.split_once(": ")?;
    let (object, label) = head.split_once(' ').unwrap_or((head, ""));
    // An object is one word naming a Kubernetes object (`pod-x`, `nodepool/default`).
    if object.is_empty() || label.contains(':') || message.is_empty() {
        return None;
    }
    Some(Parsed {
        object,
        label,
        message,
    })
}

/// An event's parts in a message `Type Reason (xN, AGE ago, source): text`.
struct Event<'a> {
    type_: &'a str,
    reason: &'a str,
    count: u64,
    age: &'a str,
    source: &'a str,
    text: &'a str,
}

fn event(message: &str) -> Option<Event<'_>> {
    let (type_, rest) = message.split_once(' ')?;
    if type_ != "Warning" && type_ != "Normal" {
        return None;
    }
    let (reason, rest) = rest.split_once(" (")?;
    let (inner, text) = rest.split_once("): ")?;
    let mut parts = inner.splitn(3, ", ");
    let count = parts.next()?.strip_prefix('x')?.parse().ok()?;
    let age = parts.next()?.strip_suffix(" ago")?;
    let source = parts.next().unwrap_or("");
    Some(Event {
        type_,
        reason,
        count,
        age,
        source,
        text,
    })
}

/// How much a line explains: 0 names a cause, 1 is a fact, 2 a symptom.
fn rank(line: &str) -> u8 {
    let message = parse(line).map_or(line, |p| p.message);
    if let Some(e) = event(message) {
        return if SYMPTOMS.contains(&e.reason) {
            2
        } else if e.type_ == "Warning" {
            0
        } else {
            1
        };
    }
    match parse(line) {
        Some(p) if p.label.starts_with("Pending") => 2,
        _ => 1,
    }
}

/// Objects named in a group line: the first three, then how many more.
fn objects(names: &[&str]) -> String {
    let mut out = names.iter().take(3).copied().collect::<Vec<_>>().join(", ");
    if names.len() > 3 {
        out.push_str(&format!(" +{} more", names.len() - 3));
    }
    out
}

/// `evidence` grouped (lines saying the same about several objects once,
/// `2× a, b: …`; repeated events with their counts added up) and ranked (a
/// cause before facts before symptoms; the order within a rank kept).
pub fn arrange(evidence: &[String]) -> Vec<String> {
    // Lines with the same key: the first as written, the objects, the events' count.
    struct Group<'a> {
        key: String,
        first: &'a str,
        objects: Vec<&'a str>,
        count: u64,
    }
    let mut groups: Vec<Group> = Vec::new();
    for line in evidence {
        let (key, object, count) = match parse(line) {
            Some(p) => match event(p.message) {
                Some(e) => (
                    format!(
                        "{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}",
                        p.label, e.type_, e.reason, e.source, e.text
                    ),
                    Some(p.object),
                    e.count,
                ),
                None => (format!("{}\u{0}{}", p.label, p.message), Some(p.object), 0),
            },
            None => (line.clone(), None, 0),
        };
        match groups.iter_mut().find(|g| g.key == key && object.is_some()) {
            Some(g) => {
                if let Some(o) = object
                    && !g.objects.contains(&o)
                {
                    g.objects.push(o);
                }
                g.count += count;
            }
            None => groups.push(Group {
                key,
                first: line,
                objects: object.into_iter().collect(),
                count,
            }),
        }
    }
    let mut lines: Vec<(u8, String)> = groups
        .into_iter()
        .map(|g| (rank(g.first), g))
        .map(|(rank, g)| {
            let Some(p) = parse(g.first).filter(|_| g.objects.len() > 1) else {
                return (rank, g.first.to_string());
            };
            let message = match event(p.message) {
                Some(e) => format!(
                    "{} {} (x{} in all, newest {} ago{}): {}",
                    e.type_,
                    e.reason,
                    g.count,
                    e.age,
                    if e.source.is_empty() {
                        String::new()
                    } else {
                        format!(", {}", e.source)
                    },
                    e.text
                ),
                None => p.message.to_string(),
            };
            let label = if p.label.is_empty() {
                String::new()
            } else {
                format!(" {}", p.label)
            };
            let line = format!(
                "{}× {}{label}: {message}",
                g.objects.len(),
                objects(&g.objects)
            );
            (rank, line)
        })
        .collect();
    lines.sort_by_key(|l| l.0);
    lines.into_iter().map(|l| l.1).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|s| s.to_string()).collect()
    }

    /// The evidence of nodes.scale-up in pending-no-node.
    const SCALE_UP: &[&str] = &[
        "spice-runner-7d9c8b5f4-6vtrl Pending 3m: Unschedulable: 0/3 nodes are available: 3 Insufficient cpu.",
        "spice-runner-7d9c8b5f4-s8gcf Pending 3m: Unschedulable: 0/3 nodes are available: 3 Insufficient cpu.",
        "spice-runner-7d9c8b5f4-6vtrl: Warning FailedScheduling (x6, 21s ago, default-scheduler): 0/3 nodes are available: 3 Insufficient cpu.",
        "spice-runner-7d9c8b5f4-s8gcf: Warning FailedScheduling (x5, 40s ago, default-scheduler): 0/3 nodes are available: 3 Insufficient cpu.",
        "nodepool/default: 2 nodes",
        "nodepool/default: Warning NoCompatibleInstanceTypes (x7, 23s ago, karpenter): NodePool requirements filtered out all compatible available instance types",
        "no NodeClaim in flight",
    ];

    #[test]
    fn the_event_naming_the_cause_leads_and_repeats_are_one_line_with_count_and_objects() {
        let a = arrange(&v(SCALE_UP));
        assert_eq!(
            a,
            v(&[
                "nodepool/default: Warning NoCompatibleInstanceTypes (x7, 23s ago, karpenter): NodePool requirements filtered out all compatible available instance types",
                "nodepool/default: 2 nodes",
                "no NodeClaim in flight",
                "2× spice-runner-7d9c8b5f4-6vtrl, spice-runner-7d9c8b5f4-s8gcf Pending 3m: Unschedulable: 0/3 nodes are available: 3 Insufficient cpu.",
                "2× spice-runner-7d9c8b5f4-6vtrl, spice-runner-7d9c8b5f4-s8gcf: Warning FailedScheduling (x11 in all, newest 21s ago, default-scheduler): 0/3 nodes are available: 3 Insufficient cpu.",
            ])
        );
    }

    #[test]
    fn lines_that_are_not_about_objects_keep_their_order() {
        let lines = v(&[
            "to zero ≈ 60 s (rate window) + 30 s = 95 s vs target 60 s",
            "N→M shrink ≈ 60 s (window) + 300 s",
            "query: sum(rate(x[1m]))",
        ]);
        assert_eq!(arrange(&lines), lines);
    }

    #[test]
    fn many_objects_are_named_up_to_three() {
        let lines: Vec<String> = (0..5)
            .map(|i| format!("pod-{i} Pending 3m: Unschedulable"))
            .collect();
        assert_eq!(
            arrange(&lines),
            v(&["5× pod-0, pod-1, pod-2 +2 more Pending 3m: Unschedulable"])
        );
    }
}
