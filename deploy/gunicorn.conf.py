"""gunicorn settings for Kaohe (`kaohe serve` uses this file when present;
or run `gunicorn -c deploy/gunicorn.conf.py kaohe.wsgi:app`).

Every value can be overridden from the environment, so the same file serves
a 2-core VM and a 32-core host.  Command-line flags (`kaohe serve --port
--workers`) win over this file."""
import multiprocessing
import os


def _int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


cores = multiprocessing.cpu_count()

bind = os.environ.get("KAOHE_BIND", "127.0.0.1:8000")
# Pages are short, database-bound requests: (2 × cores) + 1 sync-style
# processes, each with a few threads to overlap database waits.  Cap the
# processes so a big host does not open more PostgreSQL connections than
# the server allows: workers × threads × hosts ≤ max_connections (or use
# PgBouncer in transaction mode, see SCALING.md).
workers = _int("KAOHE_WEB_WORKERS", min(2 * cores + 1, 17))
worker_class = "gthread"
threads = _int("KAOHE_WEB_THREADS", 4)

# A request that takes longer than this is killed (its transaction rolls
# back: nothing half-written).  Long work belongs in a job, not a request.
timeout = _int("KAOHE_WEB_TIMEOUT", 60)
graceful_timeout = 30
keepalive = 5

# Recycle workers now and then so a slow leak cannot grow forever.
max_requests = _int("KAOHE_WEB_MAX_REQUESTS", 5000)
max_requests_jitter = 500

# The app factory is side-effect free, but database pools must never be
# shared across fork(): build the app in each worker.
preload_app = False

# Behind nginx on the same host: trust its X-Forwarded-* headers only.
forwarded_allow_ips = os.environ.get("KAOHE_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proxy_allow_ips = forwarded_allow_ips

# Upload limits are enforced by nginx and the app (MAX_CONTENT_LENGTH);
# these only bound the request line and headers.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

# Logs go to stdout/stderr (journald or the container runtime keeps them).
accesslog = os.environ.get("KAOHE_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("KAOHE_LOG_LEVEL", "info")
# client, forwarded-for, user agent, request, status, bytes, time in ms
access_log_format = ('%(h)s fwd=%({x-forwarded-for}i)s "%(r)s" %(s)s %(b)s %(M)sms '
                     'ref="%(f)s" ua="%(a)s"')

proc_name = "kaohe-web"
# /dev/shm keeps the heartbeat files off slow or full disks.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
