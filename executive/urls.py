from django.urls import path

from executive import views

app_name = "executive"

urlpatterns = [
    path("", views.signoff, name="signoff"),
]
