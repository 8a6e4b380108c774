"""``envelope serve``: the local KMS on the AWS KMS JSON 1.1 protocol, authenticated with SigV4.

Modules: ``protocol`` (requests and responses in botocore's KMS shapes), ``sigv4`` (signature
checks with botocore's signer), ``principals`` (the account's access keys), ``app`` (the WSGI
application), ``run`` (serving on granian), ``log`` (the access log). It needs the ``server``
extra (granian, botocore); ``principals`` alone does not.
"""
