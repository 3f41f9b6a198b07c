"""The whole local stack in one object, for `make dev` and for end-to-end tests.

with LocalStack() as stack:
    requests.get(f"{stack.url}/health")
    stack.invoke("Cleanup")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from botocore.exceptions import ClientError

from devstack import aws
from devstack.gateway import Gateway
from devstack.invoke import AsyncInvoker
from devstack.notifications import Notifier
from devstack.runtime import log
from devstack.schedule import Scheduler, default_event
from devstack.template import StackSpec, TemplateError, load_template

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

REPO_ROOT = Path(__file__).resolve().parent.parent
DEV_API_KEY = "dev"  # what callers send while there is no seed (and no authorizer)

Seed = Callable[["LocalStack"], str]


class LocalStack:
    """moto (S3 + DynamoDB) and the HTTP API gateway, built from `template.yaml`.

    Start and stop it as often as needed in one process; each start begins with
    empty buckets and tables and re-reads the template. Only one runs at a time:
    os.environ and sys.path are process-wide (moto runs in a child process).
    """

    _running: LocalStack | None = None

    def __init__(
        self,
        root: Path = REPO_ROOT,
        port: int = 0,
        s3_port: int = 0,
        parameter_overrides: Mapping[str, str] | None = None,
        seed: Seed | None = None,
        *,
        template: Path | None = None,
        dev_identity: Mapping[str, Any] | None = None,
        schedule_seconds: float | None = None,
    ) -> None:
        """`schedule_seconds`: fire every enabled schedule of the template this often
        (EventBridge's stand-in); None, the default, fires nothing."""
        self.root = root
        self.template = template or root / "template.yaml"
        self.port, self.s3_port = port, s3_port
        self.parameter_overrides = dict(parameter_overrides or {})
        self.seed = seed
        self.dev_identity = dev_identity
        self.schedule_seconds = schedule_seconds
        self._spec: StackSpec | None = None
        self._moto: aws.MotoServer | None = None
        self._gateway: Gateway | None = None
        self._api_key: str | None = None
        self._scheduler: Scheduler | None = None
        self._notifier: Notifier | None = None
        self._invoker: AsyncInvoker | None = None

    # -- lifecycle

    def start(self) -> Self:
        """Start moto, create the template's resources, then serve the API."""
        if LocalStack._running is not None:
            raise RuntimeError("a LocalStack is already running in this process")
        LocalStack._running = self
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        spec = self._spec = load_template(self.template, self.parameter_overrides)
        for warning in spec.warnings:
            aws.warn(warning)
        if spec.ignored_note:
            log(spec.ignored_note)
        self._notifier = Notifier(spec, self._deliver, self._head)
        notifier = self._notifier
        invoker = self._invoker = AsyncInvoker(spec, self._deliver)
        self._moto = aws.MotoServer(  # in its own process: its work holds no GIL of ours
            self.s3_port,
            invoke_url=invoker.listen(),
            event_buckets=notifier.buckets if notifier.targets else (),
            on_event=notifier.enqueue,
        )
        endpoint = self._moto.start()
        for warning in aws.create_resources(spec, endpoint):
            aws.warn(warning)
        self._gateway = Gateway(spec, endpoint, self.port, self.dev_identity)
        self._gateway.start()
        self._api_key = self.seed(self) if self.seed else DEV_API_KEY
        self._notifier.start()
        invoker.start()
        if self.schedule_seconds is not None:  # after the seed: runs see a seeded stack
            self._scheduler = Scheduler(spec, self._gateway.functions.invoke, self.schedule_seconds)
            self._scheduler.start()
        log(f"API on {self.url}, S3 and DynamoDB on {endpoint}")

    def stop(self) -> None:
        """Stop the scheduler, then both servers; join threads, free ports; safe twice.

        The scheduler goes first: a run in flight still has its environment and moto.
        """
        scheduler, gateway, moto = self._scheduler, self._gateway, self._moto
        notifier, self._notifier = self._notifier, None
        invoker, self._invoker = self._invoker, None
        self._scheduler, self._gateway, self._moto = None, None, None
        self._api_key = None
        try:
            if invoker is not None:
                invoker.stop()
            if notifier is not None:
                notifier.stop()
            if scheduler is not None:
                scheduler.stop()
            if gateway is not None:
                gateway.stop()
        finally:
            if moto is not None:
                moto.stop()
            if LocalStack._running is self:
                LocalStack._running = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what callers need

    @property
    def started(self) -> bool:
        return self._gateway is not None

    @property
    def spec(self) -> StackSpec:
        """The resolved template of the running stack."""
        if self._spec is None:
            raise RuntimeError("start the LocalStack first")
        return self._spec

    @property
    def url(self) -> str:
        """Base URL of the API, e.g. `http://127.0.0.1:3000` (no trailing slash)."""
        return self._running_gateway().url

    @property
    def s3_endpoint(self) -> str:
        """moto's endpoint; it serves DynamoDB too."""
        if self._moto is None or not self._moto.endpoint:
            raise RuntimeError("start the LocalStack first")
        return self._moto.endpoint

    aws_endpoint = s3_endpoint

    @property
    def api_key(self) -> str:
        """What the seed returned, or "dev" when there is no seed."""
        if self._api_key is None:
            raise RuntimeError("start the LocalStack first")
        return self._api_key

    def invoke(self, logical_id: str, event: Any | None = None) -> Any:
        """Run function `logical_id` once and return its answer, waiting up to its
        Timeout as an asynchronous trigger does (no API Gateway 30 s limit).

        Without an event it gets its first schedule's event (see schedule.default_event).
        Raises InvocationError when the function fails, TemplateError for an unknown id.
        """
        function = self.spec.function(logical_id)
        event = default_event(function, self.spec) if event is None else event
        return self._running_gateway().functions.invoke(logical_id, event)

    @property
    def notifier(self) -> Notifier:
        """S3's events to EventBridge rules; `delivered` lists what reached functions."""
        if self._notifier is None:
            raise RuntimeError("start the LocalStack first")
        return self._notifier

    @property
    def invoker(self) -> AsyncInvoker:
        """Lambda's Invoke API: `failures` lists what gave up, `held()` delays async runs."""
        if self._invoker is None:
            raise RuntimeError("start the LocalStack first")
        return self._invoker

    @classmethod
    def current(cls) -> LocalStack | None:
        """The stack running in this process, if any (only one can)."""
        return cls._running

    def _deliver(self, logical_id: str, event: Any) -> Any:
        return self._running_gateway().functions.invoke(logical_id, event)

    def _head(self, bucket: str, key: str) -> dict[str, Any] | None:
        try:
            answer: dict[str, Any] = dict(self.s3().head_object(Bucket=bucket, Key=key))
        except ClientError:
            return None
        return answer

    def client(self, service: str) -> Any:
        """A boto3 client of any service on the local endpoint, fake credentials."""
        return aws.client(service, self.s3_endpoint)

    def s3(self) -> S3Client:
        return aws.s3_client(self.s3_endpoint)

    def dynamodb(self) -> DynamoDBClient:
        return aws.dynamodb_client(self.s3_endpoint)

    def bucket_name(self, logical_id: str) -> str:
        """A template bucket's local name: FilesBucket -> stowage-local-filesbucket."""
        return self._name_of(
            logical_id,
            [(bucket.logical_id, bucket.name) for bucket in self.spec.buckets],
        )

    def table_name(self, logical_id: str) -> str:
        """A template table's local name: UploadsTable -> stowage-local-UploadsTable."""
        return self._name_of(
            logical_id, [(table.logical_id, table.name) for table in self.spec.tables]
        )

    def _name_of(self, logical_id: str, names: list[tuple[str, str]]) -> str:
        for candidate, name in names:
            if candidate == logical_id:
                return name
        raise TemplateError(f"no resource {logical_id} in {self.template}")

    def _running_gateway(self) -> Gateway:
        if self._gateway is None or self._gateway.server is None:
            raise RuntimeError("start the LocalStack first")
        return self._gateway
