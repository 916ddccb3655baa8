from django.urls import path

from executive import views

app_name = "executive"

urlpatterns = [
    path("", views.signoff, name="signoff"),
    path("print/", views.signoff_print, name="print"),
    path("<int:pk>/decide/", views.decide, name="decide"),
    path("approved/", views.approved, name="approved"),
    path("approved/<int:pk>/", views.approved_detail, name="approved_detail"),
    path("approved/<int:pk>/export.<str:fmt>", views.approved_export, name="approved_export"),
]
