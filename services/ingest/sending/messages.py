"""What each failure code means, in English and Spanish, for the people who read `send.failed`
(the console, a CRM)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "token_invalid": (
        "The platform rejected the connection's access token (expired or revoked): renew it.",
        "La plataforma rechazó el token de acceso de la conexión (caducado o revocado): renuévelo.",
    ),
    "token_missing": (
        "The connection has no send token for this channel.",
        "La conexión no tiene token de envío para este canal.",
    ),
    "permission_denied": (
        "The platform did not allow this account to send this message.",
        "La plataforma no permitió a esta cuenta enviar este mensaje.",
    ),
    "target_not_found": (
        "The comment, post or conversation being answered no longer exists.",
        "El comentario, la publicación o la conversación que se responde ya no existe.",
    ),
    "window_closed": (
        "More than 24 hours have passed since the customer's last message: the platform only "
        "accepts a free-form reply inside that window.",
        "Han pasado más de 24 horas desde el último mensaje del cliente: la plataforma solo "
        "acepta una respuesta libre dentro de ese plazo.",
    ),
    "recipient_unavailable": (
        "The customer cannot receive messages from this account right now.",
        "El cliente no puede recibir mensajes de esta cuenta en este momento.",
    ),
    "rejected": (
        "The platform refused the message.",
        "La plataforma rechazó el mensaje.",
    ),
    "invalid_target": (
        "The id of what is being answered is not a valid platform id.",
        "El identificador de lo que se responde no es un identificador válido de la plataforma.",
    ),
    "connection_not_found": (
        "The connection this reply was to go out on no longer exists.",
        "La conexión por la que debía salir esta respuesta ya no existe.",
    ),
    "rate_limited": (
        "The platform kept limiting the rate of requests; the message was not sent.",
        "La plataforma siguió limitando la frecuencia de peticiones; el mensaje no se envió.",
    ),
    "platform_unavailable": (
        "The platform kept failing; the message was not sent.",
        "La plataforma siguió fallando; el mensaje no se envió.",
    ),
    "platform_unreachable": (
        "The platform could not be reached; the message was not sent.",
        "No se pudo contactar con la plataforma; el mensaje no se envió.",
    ),
    "timeout": (
        "The platform did not answer in time: the message may or may not have been sent. "
        "Check the conversation before replying again.",
        "La plataforma no respondió a tiempo: puede que el mensaje se haya enviado o no. "
        "Revise la conversación antes de volver a responder.",
    ),
    "connection_lost": (
        "The connection to the platform broke during the send: the message may or may not "
        "have been sent. Check the conversation before replying again.",
        "La conexión con la plataforma se cortó durante el envío: puede que el mensaje se "
        "haya enviado o no. Revise la conversación antes de volver a responder.",
    ),
    "interrupted": (
        "The service restarted during the send: the message may or may not have been sent. "
        "Check the conversation before replying again.",
        "El servicio se reinició durante el envío: puede que el mensaje se haya enviado o no. "
        "Revise la conversación antes de volver a responder.",
    ),
    "unreadable_answer": (
        "The platform accepted the request but its answer could not be read: the message was "
        "probably sent. Check the conversation.",
        "La plataforma aceptó la petición pero su respuesta no se pudo leer: probablemente el "
        "mensaje se envió. Revise la conversación.",
    ),
}


def messages_for(code: str) -> dict[str, str]:
    english, spanish = MESSAGES.get(code, MESSAGES["rejected"])
    return {"en": english, "es": spanish}
