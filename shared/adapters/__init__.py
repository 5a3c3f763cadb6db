"""The other outside services (storage, email, ACS, Speech, Supabase admin) behind
small classes that services receive as arguments, typed by ports.py's Protocols.

Each adapter imports its SDK inside its methods or its factory, never at
module load, so importing an adapter costs nothing at cold start.
"""
