"""Agendas: nodes run for a member later, or on a CRON pattern, by scheduler workers."""

from noderuntime.engine.agenda.worker import AgendaWorker, JobReport

__all__ = ["AgendaWorker", "JobReport"]
