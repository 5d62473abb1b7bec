"""Callbacks with Keras' protocol. History is returned by every fit."""

from cornu.callbacks.backup import BackupAndRestore
from cornu.callbacks.base import Callback, CallbackList
from cornu.callbacks.checkpoint import ModelCheckpoint
from cornu.callbacks.csv_logger import CSVLogger
from cornu.callbacks.early_stopping import EarlyStopping
from cornu.callbacks.history import History
from cornu.callbacks.lambda_callback import LambdaCallback
from cornu.callbacks.progbar_logger import ProgbarLogger
from cornu.callbacks.reduce_lr import ReduceLROnPlateau
from cornu.callbacks.scheduler import LearningRateScheduler
from cornu.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TerminateOnNaN",
]
