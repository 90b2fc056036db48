"""Recognising a caller before the call connects (Retell's inbound webhook).

The API talks only to Temporal, so the lookup is a workflow: one local activity reads our
appointment records and the workflow returns what it found. There is no call id yet, so
no call workflow to ask; a short workflow per lookup (id ``lookup-<random>``, never the
phone number) costs one start and one local activity, about 30 ms on the dev server. A
long-lived workflow per customer would answer a little faster the second time, but would
need an id derived from the phone number and would keep state nobody needs: recognising is
a read.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

with workflow.unsafe.imports_passed_through():
    from contracts import activities as acts
    from contracts.appointments import CallerKnown, LookupCaller
    from workflows.activity_options import LOOKUP

LOOKUP_PREFIX = "lookup-"


@workflow.defn(name="CallerLookupWorkflow")
class CallerLookupWorkflow:
    @workflow.run
    async def run(self, inp: LookupCaller) -> CallerKnown:
        """Known or not, the name last booked under the number and its next appointment;
        unknown when the records cannot be read in time."""
        try:
            found: CallerKnown = await workflow.execute_local_activity(
                acts.recognise_caller, inp, summary="recognise caller", **LOOKUP.kwargs()
            )
        except (ActivityError, ApplicationError, TemporalTimeoutError):
            return CallerKnown(known=False)
        return found
