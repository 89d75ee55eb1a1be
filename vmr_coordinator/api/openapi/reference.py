"""The REST API reference page (``doc/api/reference.inc``), written from
the OpenAPI document."""


from vmr_coordinator.api.openapi.document import document


#: how the reference names each security scheme
AUTH_WORDS = {
    'keystone': 'a Keystone token in X-Auth-Token (with [api] '
                'auth_strategy = keystone)',
    'webhookBearer': 'Authorization: Bearer <[api] webhook_token>',
    'webhookBasic': 'basic auth with password [api] webhook_token',
    'webhookToken': 'X-VMR-Token: <[api] webhook_token>',
    'webhookSignature': 'X-VMR-Signature (HMAC-SHA256 of the body)',
}


def _type(schema):
    """A schema in a few words: ``string``, ``array of Host``, ``Error``."""
    if not isinstance(schema, dict):
        return 'any'
    if '$ref' in schema:
        name = schema['$ref'].rsplit('/', 1)[-1]
        return ':ref:`%s <schema-%s>`' % (name, name.lower())
    if 'oneOf' in schema:
        return ' or '.join(_type(s) for s in schema['oneOf'])
    if 'enum' in schema:
        return 'one of %s' % ', '.join('``%s``' % v for v in schema['enum'])
    kind = schema.get('type', 'any')
    if isinstance(kind, list):
        kind = ' or '.join(kind)
    if kind == 'array':
        return 'array of %s' % _type(schema.get('items'))
    return kind


def _content_types(content):
    return ', '.join('%s (%s)' % (media, _type(body.get('schema')))
                     for media, body in sorted((content or {}).items()))


def _para(text):
    return ' '.join(str(text).split()).replace('`', '``').replace(
        '````', '``')


def render_rst():
    """The reference as reStructuredText (``doc/api/reference.inc``): every
    operation by tag, then every schema."""
    doc = document()
    out = ['.. This file is generated: python -m vmr_coordinator.api.openapi '
           '--rst > doc/api/reference.inc', '']
    by_tag = {}
    for path, methods in sorted(doc['paths'].items()):
        for method, op in sorted(methods.items()):
            by_tag.setdefault(op['tags'][0], []).append((path, method, op))
    for tag in [t['name'] for t in doc['tags']]:
        out += [tag.capitalize(), '-' * len(tag), '']
        for path, method, op in by_tag.get(tag, []):
            title = '%s %s' % (method.upper(), path)
            out += [title, '~' * len(title), '', _para(op['summary']), '']
            auth = op.get('security')
            if auth == []:
                out += ['No authentication.', '']
            elif auth:
                out += ['Authentication: %s.' % ', '.join(
                    AUTH_WORDS.get(k, k) for k in sorted(
                        {k for entry in auth for k in entry})), '']
            for param in op.get('parameters', []):
                out.append('* ``%s`` (%s%s, %s): %s' % (
                    param['name'], param['in'],
                    ', required' if param.get('required') else '',
                    _type(param.get('schema')),
                    _para(param.get('description', ''))))
            if op.get('parameters'):
                out.append('')
            body = op.get('requestBody')
            if body:
                out += ['Body: %s.' % _content_types(body.get('content')), '']
            for code, resp in sorted(op['responses'].items()):
                types = _content_types(resp.get('content'))
                out.append('* **%s** %s%s' % (
                    code, _para(resp.get('description', '')),
                    ' -- %s' % types if types else ''))
            out.append('')
    out += ['Schemas', '-------', '']
    for name, schema in sorted(doc['components']['schemas'].items()):
        out += ['.. _schema-%s:' % name.lower(), '', name,
                '~' * len(name), '']
        if schema.get('description'):
            out += [_para(schema['description']), '']
        required = set(schema.get('required') or ())
        for field, sub in sorted((schema.get('properties') or {}).items()):
            line = '* ``%s`` (%s%s)' % (field, _type(sub),
                                        ', required' if field in required
                                        else '')
            if isinstance(sub, dict) and sub.get('description'):
                line += ': %s' % _para(sub['description'])
            out.append(line)
        if not schema.get('properties'):
            out.append('%s.' % _type(schema).capitalize())
        out.append('')
    return '\n'.join(out).rstrip('\n') + '\n'
