"""Publishes version 1 of the user agreement and the privacy policy.

The texts are TEMPLATES: the operator must replace them with the real
documents before going live, by publishing version 2 of each in the admin
(Accounts › Legal documents › Add). A published version is never edited: people
agreed to its exact text, so a change is always a new version.
"""

from django.db import migrations
from django.utils import timezone

TEMPLATE_NOTICE_ZH = "【模板文本：运营方上线前必须在管理后台发布正式版本替换本文。】"
TEMPLATE_NOTICE_EN = "[TEMPLATE TEXT: the operator must publish the real document in the admin before going live.]"

DOCUMENTS = {
    "terms": {
        "title_zh_hans": "用户协议",
        "title_en": "User agreement",
        "text_zh_hans": (
            f"{TEMPLATE_NOTICE_ZH}\n\n"
            "欢迎使用本服务。注册或登录即表示你同意本协议。\n\n"
            "1. 账号：你使用手机号注册，应妥善保管验证码和密码。\n"
            "2. 钱包：余额用于在本应用内消费，充值通过支付渠道完成。\n"
            "3. 注销：你可以随时在“我的账号”中申请注销账号。\n"
            "4. 变更：协议更新时，我们会在你下次使用时请你重新确认。\n"
            "5. 联系我们：【运营方名称、地址和联系方式】。"
        ),
        "text_en": (
            f"{TEMPLATE_NOTICE_EN}\n\n"
            "Welcome. By signing up or logging in you agree to this agreement.\n\n"
            "1. Account: you sign up with your phone number and keep your codes and password safe.\n"
            "2. Wallet: the balance is spent inside this app; top-ups are paid through payment channels.\n"
            "3. Deletion: you can ask for your account to be deleted at any time under \"My account\".\n"
            "4. Changes: when this agreement changes, we ask you to agree again the next time you use the service.\n"
            "5. Contact: [operator's name, address and contact details]."
        ),
    },
    "privacy": {
        "title_zh_hans": "隐私政策",
        "title_en": "Privacy policy",
        "text_zh_hans": (
            f"{TEMPLATE_NOTICE_ZH}\n\n"
            "我们依照《个人信息保护法》处理你的个人信息。\n\n"
            "1. 我们收集：手机号（登录和验证）、你填写的资料和头像、登录设备和 IP 地址（账号安全）、钱包交易记录。\n"
            "2. 用途：提供账号和钱包服务、保障账号安全、履行法定义务。\n"
            "3. 共享：仅为发送短信验证码和处理支付，与短信服务商和支付渠道共享必要信息。\n"
            "4. 你的权利：你可以查看、更正和下载你的个人信息，也可以注销账号。\n"
            "5. 联系我们：【个人信息保护负责人的联系方式】。"
        ),
        "text_en": (
            f"{TEMPLATE_NOTICE_EN}\n\n"
            "We process your personal information under the Personal Information Protection Law (PIPL).\n\n"
            "1. What we collect: your phone number (sign-in and verification), the profile and avatar you give, "
            "your signed-in devices and IP addresses (account security), your wallet transactions.\n"
            "2. Why: to provide the account and the wallet, to keep your account safe, and to meet legal duties.\n"
            "3. Sharing: only what is needed with the SMS provider (codes) and the payment channels (payments).\n"
            "4. Your rights: you can see, correct and download your data, and delete your account.\n"
            "5. Contact: [the contact details of the person responsible for personal information]."
        ),
    },
}


def publish(apps, schema_editor):
    LegalDocument = apps.get_model("accounts", "LegalDocument")
    now = timezone.now()
    for kind, fields in DOCUMENTS.items():
        LegalDocument.objects.get_or_create(kind=kind, version=1, defaults={**fields, "published_at": now})


def unpublish(apps, schema_editor):
    # Only while nobody agreed to them (Consent protects its document).
    LegalDocument = apps.get_model("accounts", "LegalDocument")
    LegalDocument.objects.filter(version=1, consent__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ('accounts', '0005_lifecycle'),
    ]

    operations = [migrations.RunPython(publish, unpublish)]
