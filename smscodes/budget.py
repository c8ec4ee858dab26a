"""The per-IP budget of every door that sends or takes an SMS code (``THROTTLE_SMS_SEND``).

The SMS caps count codes sent; this counts *answers*. Sending a code, checking
one, and every account flow that accepts a code or a verification token
(sign-up, code login, password reset, phone change — API and pages alike)
draw on one budget per client IP, success or not. Without it the answers
(``phone_taken``, ``phone_not_registered``, ``code_invalid``) would let a
script map which numbers have accounts, or guess codes across numbers.
"""

from config.errors import RateLimited
from config.origin import Origin
from config.ratelimit import IPRateThrottle, ratelimit_hit, throttle_identity, throttle_rate, throttle_scope_key

SCOPE = "sms_send"


def code_budget_spend(*, origin: Origin) -> None:
    """Count one answer for ``origin``'s IP; RateLimited (with ``retry_after``) once the budget is spent."""
    rate = throttle_rate(SCOPE)
    if rate is None:
        return
    result = ratelimit_hit(scope=throttle_scope_key(SCOPE), key=throttle_identity(ip=origin.ip), rate=rate)
    if not result.allowed:
        raise RateLimited(retry_after=result.retry_after)


class CodeBudgetThrottle(IPRateThrottle):
    """``code_budget_spend`` as a DRF throttle: counted before the body is even parsed."""

    scope = SCOPE
