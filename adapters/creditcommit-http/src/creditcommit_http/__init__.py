"""creditcommit-http: the HTTP adapters of creditcommit, on httpx.

A city's credit platform (credit source and registry), e-licence system and publication
site behind one JSON contract (``schemas/`` and ``README.md``), with per-call timeouts and
an overall deadline, retries with exponential backoff and jitter for idempotent calls,
a circuit breaker per endpoint, bearer-token or gateway-signature authentication, replies
validated into domain objects, and failures categorised without a URL or secret in them.
"""

from creditcommit_http.auth import BearerToken, GatewaySignature, verify_signature
from creditcommit_http.caller import Upstream
from creditcommit_http.credit import HttpCreditRegistry, HttpCreditSource
from creditcommit_http.errors import CATEGORIES, CircuitOpen, UpstreamError
from creditcommit_http.licences import HttpLicenceStore
from creditcommit_http.publication import HttpPublishingChannel
from creditcommit_http.resilience import BreakerState, CircuitBreaker, RetryPolicy
from creditcommit_http.settings import HttpSettings

__all__ = [
    "BearerToken",
    "BreakerState",
    "CATEGORIES",
    "CircuitBreaker",
    "CircuitOpen",
    "GatewaySignature",
    "HttpCreditRegistry",
    "HttpCreditSource",
    "HttpLicenceStore",
    "HttpPublishingChannel",
    "HttpSettings",
    "RetryPolicy",
    "Upstream",
    "UpstreamError",
    "verify_signature",
]
