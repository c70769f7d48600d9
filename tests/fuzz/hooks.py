"""Schemathesis checks of Sésame's own (loaded through SCHEMATHESIS_HOOKS).

undeclared_response_headers: every header an answer carries is declared on
that answer in the document, so that a generated client knows of it, except
the transport headers and the policy headers every answer carries alike
(security headers from the middleware, caching).
"""

import schemathesis

# Sent on every answer by HTTP itself or by the security middleware.
EVERYWHERE = {
    "content-type",
    "content-length",
    "content-encoding",
    "date",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "vary",
    "cache-control",
    "content-security-policy",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
    "strict-transport-security",
}


@schemathesis.check
def undeclared_response_headers(ctx, response, case):
    definition = case.operation.responses.find_by_status_code(response.status_code)
    if definition is None:
        return None  # status_code_conformance reports it
    declared = {name.lower() for name, _ in definition.headers.items()} if definition.headers else set()
    sent = {name.lower() for name in response.headers}
    extra = sorted(
        name for name in sent - declared - EVERYWHERE if not name.startswith("access-control-")
    )
    if extra:
        raise AssertionError(
            f"{case.operation.label} answered {response.status_code} with headers "
            f"the document does not declare there: {', '.join(extra)}"
        )
    return True
