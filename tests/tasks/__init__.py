"""Tests of the public tasks, one file per backend/tasks/ module."""
