"""``accord demo``: a small federation with people in every role and a bilingual draft."""

from __future__ import annotations

import secrets
import sqlite3

from pycrdt import Doc, Text

from server import documents, members, people
from server.sync import store

ORGANIZATIONS = [
    ("RMX", "Red de Mujeres de México", "MX"),
    ("CAR", "Colectiva Argentina por los Derechos", "AR"),
    ("UWA", "United Workers Alliance", "US"),
]

PEOPLE = [  # email, name, organization, role in the draft, admin
    ("admin@demo.accord", "Administración Accord", None, None, True),
    ("lucia@demo.accord", "Lucía Hernández", "RMX", "chair", False),
    ("mateo@demo.accord", "Mateo Fernández", "CAR", "delegate", False),
    ("grace@demo.accord", "Grace Johnson", "UWA", "delegate", False),
    ("sofia@demo.accord", "Sofía Ramírez", "CAR", "reviewer", False),
    ("james@demo.accord", "James O'Neill", "UWA", "observer", False),
]

TITLE = "Protocolo de atención a denuncias / Complaints protocol"

TEXT = """# Protocolo para la atención de denuncias de violencia sexual

*Borrador de trabajo de la federación. Versión bilingüe: el texto en español y el texto en
inglés tienen igual valor.*

## 1. Propósito

Este protocolo establece cómo las organizaciones afiliadas reciben, acompañan y resuelven las
denuncias de violencia sexual ocurridas en sus espacios, con respeto a la persona que denuncia,
confidencialidad y debido proceso.

## 2. Principios

1. **Credibilidad y cuidado:** se escucha a la persona denunciante sin cuestionar su relato.
2. **Confidencialidad:** solo la comisión de atención conoce los datos del caso.
3. **No revictimización:** nadie está obligado a repetir su relato más de lo necesario.
4. **Debido proceso:** la persona señalada es informada y puede presentar su versión.

## 3. La comisión de atención

Cada organización afiliada designa una comisión de al menos tres personas, con paridad de
género, que no ocupen cargos de dirección.

---

# Protocol for handling complaints of sexual violence

*Working draft of the federation. Bilingual version: the Spanish and English texts have equal
standing.*

## 1. Purpose

This protocol sets out how affiliated organizations receive, support and resolve complaints of
sexual violence that occur in their spaces, with respect for the person who reports,
confidentiality and due process.

## 2. Principles

1. **Belief and care:** the complainant is listened to without questioning their account.
2. **Confidentiality:** only the care committee knows the details of the case.
3. **No revictimization:** nobody has to repeat their account more than necessary.
4. **Due process:** the accused person is informed and may present their side.

## 3. The care committee

Each affiliated organization appoints a committee of at least three people, with gender
parity, who hold no leadership office.
"""


def load(conn: sqlite3.Connection) -> list[tuple[str, str, str, str]]:
    """Create the demo; return (email, name, role, password) for each person."""
    org_ids = {}
    for short, name, country in ORGANIZATIONS:
        existing = conn.execute(
            "SELECT id FROM organizations WHERE short_name = ?", (short,)
        ).fetchone()
        org_ids[short] = (
            existing[0] if existing else people.add_organization(conn, short, name, country)
        )
    logins = []
    user_ids = {}
    for email, name, org, role, admin in PEOPLE:
        password = secrets.token_urlsafe(9)
        existing = people.user_by_email(conn, email)
        if existing is None:
            user_ids[email] = people.add_user(
                conn, email, name, org_ids.get(org or ""), password, is_admin=admin
            )
        else:
            people.set_password(conn, existing.id, password)
            user_ids[email] = existing.id
        logins.append((email, name, role or "admin", password))
    chair = user_ids["lucia@demo.accord"]
    document = documents.create(conn, TITLE, chair=chair)
    for email, _, _, role, _ in PEOPLE:
        if role and role != "chair":
            members.set_role(conn, document.id, user_ids[email], role)
    doc: Doc[Text] = Doc()
    doc.get("content", type=Text).insert(0, TEXT)
    store.append(conn, document.id, doc.get_update())
    return logins
