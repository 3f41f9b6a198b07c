"""`stowage admin …`: create, list, rotate and disable API clients; `report` prints
every client's usage per UTC day, its daily reports and its last activity.

Against the local stack (the default while `.stowage-dev.json` exists) or a
deployed stack (`--stack NAME`, using your AWS credentials: it reads the
stack's outputs, the clients table and the pepper secret).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import boto3

from stowage import config
from stowage.domain.clients import ClientAdmin, ClientRecord, NewClient
from stowage.units import MAX_OBJECT_SIZE
from stowage.wiring import build_client_admin

DEV_FILE = Path(".stowage-dev.json")


def target_local() -> None:
    from devstack.aws import FAKE_CREDENTIALS
    from devstack.seed import DEV_PEPPER
    from devstack.template import load_template

    endpoint = json.loads(DEV_FILE.read_text())["s3_endpoint"]
    spec = load_template(Path("template.yaml"))
    table = next(t.name for t in spec.tables if t.logical_id == "ClientsTable")
    uploads = next(t.name for t in spec.tables if t.logical_id == "UploadsTable")
    os.environ.update(FAKE_CREDENTIALS)
    os.environ.update(AWS_ENDPOINT_URL=endpoint, CLIENTS_TABLE=table, API_KEY_PEPPER=DEV_PEPPER)
    os.environ["UPLOADS_TABLE"] = uploads


def target_stack(name: str) -> None:
    stack = boto3.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    os.environ["CLIENTS_TABLE"] = outputs["ClientsTableName"]
    os.environ["API_KEY_PEPPER_SECRET"] = outputs["ApiKeyPepperSecretArn"]
    os.environ["UPLOADS_TABLE"] = outputs["UploadsTableName"]


def shown(record: ClientRecord) -> dict[str, object]:
    """A client as printed: never its key hash."""
    return record.model_dump(mode="json", exclude={"key_hash"})


def usage_report(admin: ClientAdmin, days: int) -> dict[str, object]:
    """Every client's last `days` UTC days that saw anything: counters and reports."""
    from stowage.adapters.aws import dynamodb_client
    from stowage.adapters.usage import DynamoUsageStore
    from stowage.domain.clock import utc_now
    from stowage.domain.usage import last_days

    store = DynamoUsageStore(dynamodb_client(), os.environ["UPLOADS_TABLE"])
    wanted = last_days(utc_now().date(), days)
    clients = []
    for record in admin.list_clients():
        found = sorted(store.days(record.client_id, wanted), key=lambda d: d.date, reverse=True)
        last = max((d.last_activity for d in found if d.last_activity), default=None)
        clients.append(
            {
                "client_id": record.client_id,
                "disabled": record.disabled,
                "last_activity": last.strftime("%Y-%m-%dT%H:%M:%SZ") if last else None,
                "days": [{"date": d.date, **d.counts, "reports": dict(d.reports)} for d in found],
            }
        )
    return {"days": days, "clients": clients}


def run(admin: ClientAdmin, args: argparse.Namespace) -> dict[str, object]:
    if args.command == "report":
        return usage_report(admin, args.days)
    if args.command == "create-client":
        new = NewClient(
            client_id=args.client_id,
            role=args.role,
            key_prefix=args.key_prefix,
            max_file_size=args.max_file_size,
            act_as=args.act_as,
            act_as_roles=[r for r in args.act_as_roles.split(",") if r],
        )
        record, key = admin.create_client(new)
        return {"client": shown(record), "api_key": key}
    if args.command == "list-clients":
        return {"clients": [shown(r) for r in admin.list_clients()]}
    if args.command == "rotate-key":
        return {"client_id": args.client_id, "api_key": admin.rotate_key(args.client_id)}
    return {"client": shown(admin.disable_client(args.client_id))}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="stowage admin", description=__doc__)
    top.add_argument("--stack", help="a deployed stack's name (default: the local stack)")
    commands = top.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-client", help="make a client; prints its key once")
    create.add_argument("client_id")
    create.add_argument("--role", default="user")
    create.add_argument("--key-prefix", default=None, help="default: the client id")
    create.add_argument("--max-file-size", type=int, default=MAX_OBJECT_SIZE)
    create.add_argument("--act-as", action="store_true", help="may name other users/roles")
    create.add_argument("--act-as-roles", default="", help="comma-separated; empty = any")
    commands.add_parser("list-clients", help="every client, without keys")
    report = commands.add_parser("report", help="every client's usage, reports, last activity")
    report.add_argument("--days", type=int, choices=range(1, 91), default=7, metavar="1..90")
    for name, text in (("rotate-key", "a new key; the old one stops"), ("disable-client", "")):
        commands.add_parser(name, help=text or "refuse the client's key").add_argument("client_id")
    return top


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    target_stack(args.stack) if args.stack else target_local()
    config.clear_settings()
    print(json.dumps(run(build_client_admin(), args), indent=2))
