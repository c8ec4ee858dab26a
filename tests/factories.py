import factory

from accounts.models import User

PASSWORD = "Passw0rd!x"


class UserFactory(factory.django.DjangoModelFactory):
    """A phone user whose password is ``PASSWORD`` (``password=None``: code-only account)."""

    class Meta:
        model = User

    phone = factory.Sequence(lambda n: f"+86139{n:08d}")
    username = None
    nickname = factory.Faker("first_name")
    password = PASSWORD
    # Signed up the proper way: agreed to version 1 of both documents (migration accounts/0006),
    # so the pages' consent gate lets them through.
    consents_accepted = factory.LazyFunction(lambda: {"terms": 1, "privacy": 1})

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return model_class.objects.create_user(*args, **kwargs)
