from django.urls import path

from sop import views

app_name = "sop"

urlpatterns = [
    path("", views.home, name="home"),
    path("cycles/<int:pk>/advance/", views.cycle_advance, name="cycle_advance"),
]
