"""Import every slice's models so the metadata (and Alembic) knows them."""
from .tenancy.models import OrgNode  # noqa: F401
from .auth.models import ApiToken, LoginThrottle, RoleGrant, User  # noqa: F401
from .audit.models import AuditEntry, AuditHead  # noqa: F401
from .people.models import LeaderCharge, Person, RosterImport  # noqa: F401
from .people.transfer_models import PersonTransfer  # noqa: F401
from .jobs.models import Job  # noqa: F401
from .supervision.models import Reminder, UnitStat  # noqa: F401
from .routine.models import (Amendment, Assignment, Attendance, CapDecision, Correction, Event, Indicator, Metric,  # noqa: F401
                             Participant, PeerGroup, PeerMember, Period, Rating, Result, RoutineReminder, Scheme, Task,
                             WorkRecord)
from .annual.models import (AnnualAdjustment, AnnualAppeal, AnnualAssessment, AnnualOutcome, AnnualRecord,  # noqa: F401
                            AnnualResult, AnnualReview, AnnualRun, AnnualSummary, AnnualTalk, RoutineImport,
                            SpecialCampaign, SpecialResult)
from .annual.models import AnnualPriorGrade  # noqa: F401
from .policy.models import (OrgPerformanceGrade, PolicySetting, PolicyVersion, QuotaAllocation, QuotaApproval,  # noqa: F401
                            QuotaPool)
from .ballots.models import Ballot, BallotCode, BallotSession, BallotThrottle  # noqa: F401
from .notify.models import NotifyChannel, NotifyDelivery  # noqa: F401
