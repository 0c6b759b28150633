"""The standards library: W3C VC 2.0 / Open Badges 3.0 credentials, Data Integrity proofs.

No database, no web and no clock of its own: everything that reaches outside (documents,
DID resolution, status lists, time) is passed in through a :class:`~microcred.vc.policy.Policy`.
"""
