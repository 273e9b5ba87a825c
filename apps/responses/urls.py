from django.urls import path

from apps.responses import views

ALERT = "<str:alert_id>"

urlpatterns = [
    path("hooks/twilio/inbound/", views.twilio_inbound, name="twilio-inbound"),
    path("hooks/twilio/voice/status/", views.twilio_voice_status, name="twilio-voice-status"),
    path(f"hooks/twilio/voice/{ALERT}/", views.twilio_voice, name="twilio-voice"),
    path(f"hooks/twilio/voice/{ALERT}/gather/", views.twilio_voice_gather, name="twilio-voice-gather"),
    path("hooks/slack/interactivity/", views.slack_interactivity, name="slack-interactivity"),
    path("respond/email/<str:token>/", views.email_link, name="email-action-link"),
]
