from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.errors import ServiceError
from wallet.clients import client_application_create
from wallet.models_clients import Scope


class Command(BaseCommand):
    help = (
        "Create a client application (the app's backend service) with its first API key. "
        "The key is printed alone on the last line, once: it is stored only hashed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="A unique name, e.g. the service's name.")
        parser.add_argument(
            "--scope",
            action="append",
            choices=Scope.values,
            default=[],
            dest="scopes",
            help="What its keys may do; repeat for several (charge, refund).",
        )

    def handle(self, *args, name: str, scopes: list[str], **options) -> None:
        try:
            application, key = client_application_create(name=name, scopes=scopes)
        except ServiceError as exc:
            problems = [f"{field}: {text}" for field, texts in (exc.fields or {}).items() for text in texts]
            raise CommandError("; ".join(problems) or str(exc.message)) from exc
        self.stdout.write(
            f"Client application {application.pk} “{application.name}”, scopes: {', '.join(application.scopes) or '-'}."
        )
        self.stdout.write("Its API key follows; store it now, it cannot be shown again:")
        self.stdout.write(key)
